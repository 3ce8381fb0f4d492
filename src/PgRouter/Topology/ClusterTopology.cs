using System.Collections.Immutable;

namespace PgRouter.Topology;

/// <summary>
/// An immutable, versioned picture of one cluster, swapped atomically on every change and read
/// without locks by routing.
/// </summary>
/// <param name="Version">Increases with every published picture of this cluster.</param>
/// <param name="DcsRevision">etcd revision of the discovery snapshot behind it.</param>
/// <param name="LeaderRevision">mod_revision of the leader key: observations are stamped with it.</param>
/// <param name="HasData">False until discovery delivered its first snapshot.</param>
/// <param name="IsStale">Discovery lost its source (etcd unreachable): this is the last known picture.</param>
/// <param name="PrimaryReason">What was seen about the primary, for logs and client errors.</param>
/// <param name="Failover">Patroni's failover key, while it holds a request (a switchover, maybe scheduled).</param>
/// <param name="SwitchoverPending">That request asks the current leader to step down now.</param>
/// <param name="Hold">What an operator holds back, and why (<paramref name="HoldReason"/>).</param>
internal sealed record ClusterTopology(
    string Name,
    long Version,
    long DcsRevision,
    long LeaderRevision,
    bool HasData,
    bool IsStale,
    string? LeaderName,
    PrimaryStatus PrimaryStatus,
    string PrimaryReason,
    FailoverRequest? Failover,
    bool SwitchoverPending,
    ImmutableArray<MemberView> Members,
    ClusterHold Hold = ClusterHold.None,
    string? HoldReason = null)
{
    public static ClusterTopology Empty(string name) =>
        new(name, 0, 0, 0, HasData: false, IsStale: false, null, PrimaryStatus.None, "no discovery data yet", null, false, []);

    /// <summary>The member that takes writes now, if any.</summary>
    public MemberView? Primary =>
        PrimaryStatus == PrimaryStatus.Confirmed ? FindMember(LeaderName) : null;

    public MemberView? FindMember(string? name)
    {
        foreach (var member in Members)
        {
            if (member.Name == name)
            {
                return member;
            }
        }
        return null;
    }
}
