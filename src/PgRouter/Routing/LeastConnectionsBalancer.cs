using PgRouter.Topology;

namespace PgRouter.Routing;

/// <summary>Picks the member with the fewest client sessions; ties go round-robin so a burst spreads.</summary>
internal sealed class LeastConnectionsBalancer(MemberLoad load) : IReplicaBalancer
{
    private uint _next;

    public MemberView Pick(string cluster, IReadOnlyList<MemberView> candidates)
    {
        int start = (int)(Interlocked.Increment(ref _next) % (uint)candidates.Count);
        MemberView best = candidates[start];
        int bestLoad = load.Sessions(cluster, best.Name);
        for (int i = 1; i < candidates.Count; i++)
        {
            var candidate = candidates[(start + i) % candidates.Count];
            int sessions = load.Sessions(cluster, candidate.Name);
            if (sessions < bestLoad)
            {
                (best, bestLoad) = (candidate, sessions);
            }
        }
        return best;
    }
}
