namespace PgRouter.Protocol.Authentication;

/// <summary>
/// What it takes to log in to a server with SCRAM without the password: the ClientKey recovered from
/// a client's proof, and the secret it belongs to (the server must store the same salt and iterations).
/// </summary>
internal sealed record ScramKeys(byte[] ClientKey, ScramSecret Secret);
