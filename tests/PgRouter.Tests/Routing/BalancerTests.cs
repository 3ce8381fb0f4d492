using PgRouter.Routing;
using PgRouter.Topology;
using Xunit;
using static PgRouter.Tests.Support.Topologies;

namespace PgRouter.Tests.Routing;

public class BalancerTests
{
    private static readonly MemberView[] Replicas = [.. Build(Dcs()).Members.Where(m => !m.IsLeader)];

    [Fact]
    public void RoundRobin_AlternatesBetweenCandidates()
    {
        var balancer = new RoundRobinBalancer();

        var picks = Enumerable.Range(0, 4).Select(_ => balancer.Pick("demo", Replicas).Name).ToList();

        Assert.Equal(2, picks.Count(p => p == "pg2"));
        Assert.Equal(2, picks.Count(p => p == "pg3"));
        Assert.NotEqual(picks[0], picks[1]);
    }

    [Fact]
    public void LeastConnections_PicksTheLessLoadedMember()
    {
        var load = new MemberLoad();
        load.Attach("demo", "pg2");
        load.Attach("demo", "pg2");
        load.Attach("demo", "pg3");
        var balancer = new LeastConnectionsBalancer(load);

        Assert.All(Enumerable.Range(0, 4), _ => Assert.Equal("pg3", balancer.Pick("demo", Replicas).Name));

        load.Detach("demo", "pg2");
        load.Detach("demo", "pg2");
        Assert.All(Enumerable.Range(0, 4), _ => Assert.Equal("pg2", balancer.Pick("demo", Replicas).Name));
    }
}
