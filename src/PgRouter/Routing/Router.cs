using PgRouter.Protocol;
using PgRouter.Topology;

namespace PgRouter.Routing;

/// <summary>
/// Decides where one connection goes, from a topology snapshot alone: no sockets, no waiting,
/// so every rule can be tested on its own.
/// </summary>
internal static class Router
{
    /// <param name="exclude">Members this connection already failed to reach.</param>
    public static RouteDecision Decide(RouteTarget target, ClusterTopology topology, ReplicaPolicy policy, IReadOnlyCollection<string> exclude)
    {
        if (!topology.HasData)
        {
            return RouteDecision.Wait($"no topology of cluster {topology.Name} yet ({topology.PrimaryReason})");
        }

        switch (target)
        {
            case RouteTarget.Primary:
                return ToPrimary(topology);

            case RouteTarget.Replica:
            case RouteTarget.PreferReplica:
                if (topology.Hold == ClusterHold.All)
                {
                    return Held(topology);
                }
                var replicas = ReadableReplicas(topology, exclude);
                if (replicas.Count > 0)
                {
                    return RouteDecision.Connect(policy.Balancer.Pick(topology.Name, replicas));
                }
                return target == RouteTarget.PreferReplica || policy.FallbackToPrimary
                    ? ToPrimary(topology)
                    : RouteDecision.Refuse(NoReplica(topology, exclude));

            default:
                if (topology.Hold == ClusterHold.All)
                {
                    return Held(topology);
                }
                var members = ReadableReplicas(topology, exclude);
                if (WritablePrimary(topology) is { } primary)
                {
                    members.Add(primary);
                }
                return members.Count > 0
                    ? RouteDecision.Connect(policy.Balancer.Pick(topology.Name, members))
                    : ToPrimary(topology);
        }
    }

    /// <summary>
    /// A replica that failed to connect is skipped for the rest of this routing; the leader is
    /// not: the failure marks it unreachable in the topology, and writes wait for it to come back
    /// or for Patroni to elect another leader.
    /// </summary>
    public static void ExcludeAfterConnectFailure(MemberView member, List<string> exclude)
    {
        if (!member.IsLeader)
        {
            exclude.Add(member.Name);
        }
    }

    private static RouteDecision ToPrimary(ClusterTopology topology)
    {
        if (topology.PrimaryStatus != PrimaryStatus.Confirmed)
        {
            return RouteDecision.Wait($"cluster {topology.Name} has no writable primary: {topology.PrimaryReason}");
        }
        if (topology.SwitchoverPending)
        {
            return RouteDecision.Wait($"cluster {topology.Name} is switching over: leader {topology.LeaderName} is stepping down");
        }
        if (topology.Hold != ClusterHold.None)
        {
            return Held(topology);
        }
        return RouteDecision.Connect(topology.Primary!);
    }

    private static MemberView? WritablePrimary(ClusterTopology topology) =>
        !topology.SwitchoverPending && topology.Hold == ClusterHold.None ? topology.Primary : null;

    private static RouteDecision Held(ClusterTopology topology) =>
        RouteDecision.Wait($"cluster {topology.Name} is held: {topology.HoldReason}");

    private static List<MemberView> ReadableReplicas(ClusterTopology topology, IReadOnlyCollection<string> exclude)
    {
        var replicas = new List<MemberView>(topology.Members.Length);
        foreach (var member in topology.Members)
        {
            if (!member.IsLeader && member.NotReadableReason is null && !exclude.Contains(member.Name))
            {
                replicas.Add(member);
            }
        }
        return replicas;
    }

    private static PgError NoReplica(ClusterTopology topology, IReadOnlyCollection<string> exclude)
    {
        var seen = topology.Members
            .Where(m => !m.IsLeader)
            .Select(m => exclude.Contains(m.Name) ? $"{m.Name}: could not be reached" : $"{m.Name}: {m.NotReadableReason}");
        string detail = string.Join("; ", seen);
        return new PgError(
            SqlState.CannotConnectNow,
            $"no replica of cluster {topology.Name} can take reads",
            detail.Length > 0 ? detail : "the cluster has no replicas",
            "Connect to the read-write endpoint, or allow fallback to the primary for this listener.");
    }
}
