namespace PgRouter.Protocol.Authentication;

/// <summary>
/// The one answer to a failed login, whatever failed (no such user, wrong password, wrong method):
/// PostgreSQL's own words, so a client cannot tell which users exist.
/// </summary>
internal static class AuthenticationFailure
{
    public static PgError For(string user) =>
        new(SqlState.InvalidPassword, $"password authentication failed for user \"{user}\"");
}
