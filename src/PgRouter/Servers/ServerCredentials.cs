using PgRouter.Protocol.Authentication;

namespace PgRouter.Servers;

/// <summary>
/// How PgRouter logs in to a server as <see cref="User"/>: with SCRAM keys recovered from the
/// client's own proof, the plain password, or an md5 hash (enough for md5 servers), whichever the
/// server asks for and PgRouter has. None of them: the server must trust PgRouter.
/// </summary>
internal sealed record ServerCredentials(string User, string? Password = null, string? Md5Hash = null, ScramKeys? Keys = null)
{
    public override string ToString() =>
        $"{User} ({string.Join(", ", new[] { Keys is null ? null : "SCRAM keys", Password is null ? null : "password", Md5Hash is null ? null : "md5 hash" }.OfType<string>().DefaultIfEmpty("no secret"))})";
}
