namespace PgRouter.Topology;

/// <summary>One member as discovery reports it: Patroni's member key, or a host of a static cluster.</summary>
/// <param name="Role">Patroni's role string (master, primary, replica, standby_leader, promoted, …); null for static hosts.</param>
/// <param name="State">Patroni's state string; static hosts are taken as running.</param>
/// <param name="WalPosition">xlog_location in bytes: the leader's write position, a replica's max(received, replayed).</param>
internal sealed record DiscoveredMember(
    string Name,
    string Host,
    int Port,
    string? Role,
    string State,
    long? WalPosition,
    int? Timeline,
    bool NoLoadBalance,
    bool NoFailover,
    string? ApiUrl)
{
    public bool IsRunning => State == "running";

    /// <summary>Patroni 3 says master, Patroni 4 primary.</summary>
    public bool HasPrimaryRole => Role is "master" or "primary";
}
