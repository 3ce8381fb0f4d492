namespace PgRouter.Topology;

/// <summary>
/// What PgRouter saw itself of a member (a probe, or a client's login): facts that can be newer
/// than the DCS. An observation belongs to the leadership term it was made in, so one made before
/// the leader key moved never vetoes the new leader.
/// </summary>
/// <param name="WalPosition">pg_current_wal_lsn() on a primary, pg_last_wal_replay_lsn() on a replica.</param>
/// <param name="LeaderRevision">The leader key's mod_revision when this was seen.</param>
/// <param name="ObservedAt">A <see cref="TimeProvider.GetTimestamp"/> value.</param>
/// <param name="ServerDown">Unreachable because the server takes no connections, not because it refused PgRouter.</param>
internal sealed record MemberObservation(
    bool Reachable,
    bool? InRecovery,
    long? WalPosition,
    long LeaderRevision,
    long ObservedAt,
    string? Error,
    bool ServerDown = false);
