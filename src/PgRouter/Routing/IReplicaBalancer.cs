using PgRouter.Topology;

namespace PgRouter.Routing;

/// <summary>Picks one of several equally qualified members.</summary>
internal interface IReplicaBalancer
{
    MemberView Pick(string cluster, IReadOnlyList<MemberView> candidates);
}
