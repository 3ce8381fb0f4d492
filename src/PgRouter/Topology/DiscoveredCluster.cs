using System.Collections.Immutable;

namespace PgRouter.Topology;

/// <summary>
/// What discovery knows of one cluster at one point: for Patroni, a snapshot of its keys in etcd;
/// for a static cluster, the configured hosts, whose roles only probes can tell.
/// </summary>
/// <param name="Revision">etcd revision the snapshot reflects (0 for static clusters).</param>
/// <param name="LeaderName">Value of the leader key, null when absent.</param>
/// <param name="LeaderRevision">mod_revision of the leader key: a new value means a new leadership term.</param>
/// <param name="LeaderLsn">status.optime (or optime/leader, or the leader's xlog_location) in bytes.</param>
/// <param name="RolesFromProbes">True for static clusters: the primary is the host that is not in recovery.</param>
internal sealed record DiscoveredCluster(
    long Revision,
    string? LeaderName,
    long LeaderRevision,
    long? LeaderLsn,
    ImmutableArray<DiscoveredMember> Members,
    FailoverRequest? Failover,
    bool IsStandbyCluster,
    bool RolesFromProbes)
{
    public DiscoveredMember? FindMember(string? name) =>
        name is null ? null : Members.FirstOrDefault(m => m.Name == name);
}
