namespace PgRouter.Topology;

internal enum PrimaryStatus
{
    /// <summary>Nobody holds the leader key (or the cluster is a standby cluster): no writes.</summary>
    None,

    /// <summary>A leader is named but not yet known to take writes (promotion under way, starting).</summary>
    Pending,

    /// <summary>The leader takes writes: its role says so, or a probe in this term saw it out of recovery.</summary>
    Confirmed,

    /// <summary>The leader key names it, but the server itself says it is in recovery: no writes go there.</summary>
    Fenced,

    /// <summary>The leader takes no connections (crashed, restarting): writes wait for it or for its successor.</summary>
    Unreachable,
}
