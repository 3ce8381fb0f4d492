namespace PgRouter.Topology;

/// <summary>What an operator (or PgRouter's own switchover) holds back: new transactions wait at their boundary.</summary>
internal enum ClusterHold
{
    None,

    /// <summary>Transactions for the primary wait; reads go on (PgRouter's switchover).</summary>
    Writes,

    /// <summary>Every new transaction of the cluster waits (PAUSE, for maintenance).</summary>
    All,
}
