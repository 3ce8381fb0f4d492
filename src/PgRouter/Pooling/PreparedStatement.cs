namespace PgRouter.Pooling;

/// <summary>
/// A client's prepared statement as PgRouter keeps it: the name it has on every server (the same
/// query gets the same name, so clients share it), and what it takes to prepare it again on a
/// server that does not have it yet.
/// </summary>
/// <param name="ServerName">"pgr_" and a hash of query and parameter types; empty for the unnamed statement.</param>
internal sealed record PreparedStatement(string ServerName, byte[] Query, byte[] ParameterTypes);
