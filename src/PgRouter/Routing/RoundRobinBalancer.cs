using PgRouter.Topology;

namespace PgRouter.Routing;

internal sealed class RoundRobinBalancer : IReplicaBalancer
{
    private uint _next;

    public MemberView Pick(string cluster, IReadOnlyList<MemberView> candidates) =>
        candidates[(int)(Interlocked.Increment(ref _next) % (uint)candidates.Count)];
}
