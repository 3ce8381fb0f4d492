using PgRouter.Routing;
using PgRouter.Topology;
using Xunit;
using static PgRouter.Tests.Support.Topologies;

namespace PgRouter.Tests.Routing;

public class RouterTests
{
    private static readonly ReplicaPolicy NoFallback = new(false, new FirstBalancer());
    private static readonly ReplicaPolicy Fallback = new(true, new FirstBalancer());

    private sealed class FirstBalancer : IReplicaBalancer
    {
        public MemberView Pick(string cluster, IReadOnlyList<MemberView> candidates) => candidates[0];
    }

    private static RouteDecision Decide(RouteTarget target, ClusterTopology topology, ReplicaPolicy? policy = null, params string[] exclude) =>
        Router.Decide(target, topology, policy ?? NoFallback, exclude);

    [Fact]
    public void Primary_ConfirmedLeader_Connects()
    {
        var decision = Decide(RouteTarget.Primary, Build(Dcs()));

        Assert.Equal(RouteOutcome.Connect, decision.Outcome);
        Assert.Equal("pg1", decision.Member!.Name);
    }

    [Fact]
    public void Primary_DuringPromotion_Waits()
    {
        var topology = Build(Dcs(leader: "pg2", members: [Member("pg1", "master", "stopped"), Member("pg2", "replica")]));

        var decision = Decide(RouteTarget.Primary, topology);

        Assert.Equal(RouteOutcome.Wait, decision.Outcome);
        Assert.Contains("being promoted", decision.Reason);
    }

    [Fact]
    public void Primary_SwitchoverRequested_WaitsInsteadOfSendingToTheLeaderThatStepsDown()
    {
        var decision = Decide(RouteTarget.Primary, Build(Dcs(failover: new FailoverRequest("pg1", "pg2", null))));

        Assert.Equal(RouteOutcome.Wait, decision.Outcome);
        Assert.Contains("switching over", decision.Reason);
    }

    [Fact]
    public void Primary_NoLeader_WaitsWithTheReason()
    {
        var decision = Decide(RouteTarget.Primary, Build(Dcs(leader: null)));

        Assert.Equal(RouteOutcome.Wait, decision.Outcome);
        Assert.Contains("no member holds the leader key", decision.Reason);
    }

    [Fact]
    public void Primary_LeaderThatTakesNoConnections_WaitsForItOrItsSuccessor()
    {
        var topology = Build(Dcs(), new Dictionary<string, MemberObservation> { ["pg1"] = Seen(inRecovery: null, reachable: false) });

        var decision = Decide(RouteTarget.Primary, topology);

        Assert.Equal(RouteOutcome.Wait, decision.Outcome);
        Assert.Contains("leader pg1 takes no connections", decision.Reason);
    }

    [Fact]
    public void ConnectFailure_ExcludesAReplicaButNeverTheLeader()
    {
        var topology = Build(Dcs());
        var exclude = new List<string>();

        Router.ExcludeAfterConnectFailure(topology.FindMember("pg1")!, exclude);
        Router.ExcludeAfterConnectFailure(topology.FindMember("pg2")!, exclude);

        Assert.Equal(["pg2"], exclude);
    }

    [Theory]
    [InlineData("Writes", "Primary", "Wait")]
    [InlineData("Writes", "Replica", "Connect")]
    [InlineData("Writes", "Any", "Connect")]
    [InlineData("All", "Primary", "Wait")]
    [InlineData("All", "Replica", "Wait")]
    [InlineData("All", "PreferReplica", "Wait")]
    [InlineData("All", "Any", "Wait")]
    public void Hold_WritesHoldsThePrimaryOnly_AllHoldsEverything(string hold, string target, string outcome)
    {
        var topology = Build(Dcs()) with { Hold = Enum.Parse<ClusterHold>(hold), HoldReason = "paused by an operator" };
        var expected = Enum.Parse<RouteOutcome>(outcome);

        var decision = Decide(Enum.Parse<RouteTarget>(target), topology);

        Assert.Equal(expected, decision.Outcome);
        if (expected == RouteOutcome.Wait)
        {
            Assert.Contains("is held: paused by an operator", decision.Reason);
        }
        else
        {
            Assert.False(decision.Member!.IsLeader);
        }
    }

    [Fact]
    public void AnyTarget_NoTopologyYet_Waits()
    {
        var decision = Decide(RouteTarget.Replica, ClusterTopology.Empty("demo"));

        Assert.Equal(RouteOutcome.Wait, decision.Outcome);
    }

    [Fact]
    public void Replica_PicksAmongReadableReplicasOnly()
    {
        var topology = Build(Dcs(members: [Member("pg1", "master"), Member("pg2", state: "starting"), Member("pg3")]));

        var decision = Decide(RouteTarget.Replica, topology);

        Assert.Equal("pg3", decision.Member!.Name);
    }

    [Fact]
    public void Replica_NoneQualifies_IsRefusedWithWhatWasSeen()
    {
        var topology = Build(Dcs(leaderLsn: 100_000_000, members: [Member("pg1", "master"), Member("pg2", wal: 1), Member("pg3", state: "stopped")]));

        var decision = Decide(RouteTarget.Replica, topology);

        Assert.Equal(RouteOutcome.Refuse, decision.Outcome);
        Assert.Equal("57P03", decision.Error!.SqlState);
        Assert.Contains("pg2: it lags", decision.Error.Detail);
        Assert.Contains("pg3: it is stopped", decision.Error.Detail);
    }

    [Fact]
    public void Replica_NoneQualifiesWithFallback_GoesToThePrimary()
    {
        var topology = Build(Dcs(members: [Member("pg1", "master"), Member("pg2", state: "stopped")]));

        Assert.Equal("pg1", Decide(RouteTarget.Replica, topology, Fallback).Member!.Name);
    }

    [Fact]
    public void Replica_SkipsMembersThatCouldNotBeReached()
    {
        Assert.Equal("pg3", Decide(RouteTarget.Replica, Build(Dcs()), exclude: "pg2").Member!.Name);
    }

    [Fact]
    public void PreferReplica_FallsBackToThePrimaryWithoutBeingAsked()
    {
        var topology = Build(Dcs(members: [Member("pg1", "master"), Member("pg2", "replica", "stopped")]));

        Assert.Equal("pg1", Decide(RouteTarget.PreferReplica, topology).Member!.Name);
        Assert.Equal("pg2", Decide(RouteTarget.PreferReplica, Build(Dcs(members: [Member("pg1", "master"), Member("pg2")]))).Member!.Name);
    }

    [Fact]
    public void Any_IncludesThePrimaryAmongCandidates()
    {
        var all = new List<string>();
        var recording = new ReplicaPolicy(false, new RecordingBalancer(all));

        Decide(RouteTarget.Any, Build(Dcs()), recording);

        Assert.Equal(["pg2", "pg3", "pg1"], all);
    }

    private sealed class RecordingBalancer(List<string> seen) : IReplicaBalancer
    {
        public MemberView Pick(string cluster, IReadOnlyList<MemberView> candidates)
        {
            seen.AddRange(candidates.Select(c => c.Name));
            return candidates[0];
        }
    }
}
