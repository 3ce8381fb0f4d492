using System.Collections.Immutable;
using PgRouter.Topology;

namespace PgRouter.Tests.Support;

/// <summary>Discovery snapshots and topologies for tests: a leader pg1 on 5432, replicas pg2 and pg3.</summary>
internal static class Topologies
{
    public const long LeaderRevision = 6;

    public static DiscoveredMember Member(string name, string role = "replica", string state = "running", long? wal = 50_331_648, int? timeline = 1, bool noLoadBalance = false) =>
        new(name, "127.0.0.1", 5431 + int.Parse(name[2..]), role, state, wal, timeline, noLoadBalance, false, $"http://127.0.0.1:800{name[2..]}/patroni");

    public static DiscoveredCluster Dcs(string? leader = "pg1", long? leaderLsn = 50_331_648, FailoverRequest? failover = null, params DiscoveredMember[] members) =>
        new(42, leader, leader is null ? 0 : LeaderRevision, leaderLsn,
            members.Length > 0 ? [.. members] : [Member("pg1", "master"), Member("pg2"), Member("pg3")],
            failover, IsStandbyCluster: false, RolesFromProbes: false);

    public static ClusterTopology Build(DiscoveredCluster discovered, IReadOnlyDictionary<string, MemberObservation>? observations = null, long maxLag = 1024 * 1024, bool stale = false) =>
        TopologyBuilder.Build("demo", maxLag, 1, discovered, stale, observations ?? ImmutableDictionary<string, MemberObservation>.Empty, freshSince: 100, DateTimeOffset.Parse("2026-11-22T03:00:00Z"));

    public static MemberObservation Seen(bool? inRecovery, long? wal = null, long leaderRevision = LeaderRevision, long at = 200, bool reachable = true, bool serverDown = true) =>
        new(reachable, inRecovery, wal, leaderRevision, at, reachable ? null : serverDown ? "connection refused" : "certificate verify failed", !reachable && serverDown);
}
