namespace PgRouter.Servers;

/// <summary>Why a server connection could not be opened.</summary>
/// <param name="ServerDown">
/// The server takes no connections at all (refused, no answer, reset, starting up or shutting
/// down), as opposed to refusing PgRouter (TLS, credentials): only a down leader makes writes wait.
/// </param>
internal sealed record ConnectError(string Message, bool ServerDown)
{
    /// <summary>PostgreSQL's answers at login that say the server itself is not available.</summary>
    public static bool MeansServerDown(string sqlState) =>
        sqlState is Protocol.SqlState.CannotConnectNow or Protocol.SqlState.AdminShutdown or Protocol.SqlState.CrashShutdown;

    public override string ToString() => Message;
}
