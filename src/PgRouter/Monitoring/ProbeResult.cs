namespace PgRouter.Monitoring;

/// <summary>What one probe of one member found.</summary>
/// <param name="WalPosition">pg_current_wal_lsn() on a primary, pg_last_wal_replay_lsn() on a replica.</param>
/// <param name="ServerDown">Unreachable because the server takes no connections (see <see cref="Servers.ConnectError"/>).</param>
internal sealed record ProbeResult(bool Reachable, bool? InRecovery, long? WalPosition, string? Error, bool ServerDown = false)
{
    public static ProbeResult Unreachable(string error, bool serverDown) => new(false, null, null, error, serverDown);
}
