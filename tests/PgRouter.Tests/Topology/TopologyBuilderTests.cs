using System.Collections.Immutable;
using PgRouter.Topology;
using Xunit;
using static PgRouter.Tests.Support.Topologies;

namespace PgRouter.Tests.Topology;

public class TopologyBuilderTests
{
    private static Dictionary<string, MemberObservation> Observed(params (string Member, MemberObservation Observation)[] items) =>
        items.ToDictionary(i => i.Member, i => i.Observation);

    [Fact]
    public void Build_LeaderRunningAsMaster_IsConfirmedPrimary()
    {
        var topology = Build(Dcs());

        Assert.Equal(PrimaryStatus.Confirmed, topology.PrimaryStatus);
        Assert.Equal("pg1", topology.Primary!.Name);
        Assert.Equal(5432, topology.Primary.Port);
    }

    [Fact]
    public void Build_Patroni4PrimaryRole_IsAcceptedLikeMaster()
    {
        var topology = Build(Dcs(members: [Member("pg1", "primary"), Member("pg2")]));

        Assert.Equal(PrimaryStatus.Confirmed, topology.PrimaryStatus);
    }

    [Fact]
    public void Build_NoLeaderKey_HasNoPrimary()
    {
        var topology = Build(Dcs(leader: null));

        Assert.Equal(PrimaryStatus.None, topology.PrimaryStatus);
        Assert.Null(topology.Primary);
        Assert.Contains("leader key", topology.PrimaryReason);
    }

    [Fact]
    public void Build_NewLeaderStillReplicaInDcs_IsPendingUntilAProbeSeesItWritable()
    {
        var discovered = Dcs(leader: "pg2", members: [Member("pg1", "master", "stopping"), Member("pg2", "replica")]);

        var pending = Build(discovered);
        var stillInRecovery = Build(discovered, Observed(("pg2", Seen(inRecovery: true))));
        var promoted = Build(discovered, Observed(("pg2", Seen(inRecovery: false))));

        Assert.Equal(PrimaryStatus.Pending, pending.PrimaryStatus);
        Assert.Equal(PrimaryStatus.Pending, stillInRecovery.PrimaryStatus);
        Assert.Equal(PrimaryStatus.Confirmed, promoted.PrimaryStatus);
        Assert.Equal("pg2", promoted.Primary!.Name);
    }

    [Fact]
    public void Build_ObservationFromAnEarlierLeaderTerm_DoesNotCount()
    {
        var discovered = Dcs(leader: "pg2", members: [Member("pg1", "master"), Member("pg2", "replica")]);

        var topology = Build(discovered, Observed(("pg2", Seen(inRecovery: false, leaderRevision: LeaderRevision - 1))));

        Assert.Equal(PrimaryStatus.Pending, topology.PrimaryStatus);
    }

    [Fact]
    public void Build_LeaderDownInThisTerm_IsUnreachable_AFailureBeforeTheKeyMovedOrARefusalIsNot()
    {
        var failed = Build(Dcs(), Observed(("pg1", Seen(inRecovery: null, reachable: false))));
        var failedLastTerm = Build(Dcs(), Observed(("pg1", Seen(inRecovery: null, reachable: false, leaderRevision: LeaderRevision - 1))));
        var refusedPgRouter = Build(Dcs(), Observed(("pg1", Seen(inRecovery: null, reachable: false, serverDown: false))));

        Assert.Equal(PrimaryStatus.Unreachable, failed.PrimaryStatus);
        Assert.Null(failed.Primary);
        Assert.Equal(PrimaryStatus.Confirmed, failedLastTerm.PrimaryStatus);
        // A TLS or login failure is PgRouter's configuration, not the server being down: clients hear the error at once.
        Assert.Equal(PrimaryStatus.Confirmed, refusedPgRouter.PrimaryStatus);
    }

    [Fact]
    public void Build_MasterInDcsButServerInRecovery_IsFenced()
    {
        var topology = Build(Dcs(), Observed(("pg1", Seen(inRecovery: true))));

        Assert.Equal(PrimaryStatus.Fenced, topology.PrimaryStatus);
        Assert.Null(topology.Primary);
    }

    [Fact]
    public void Build_OldPrimaryStillSaysMasterAfterTheKeyMoved_IsNotPrimary()
    {
        var topology = Build(Dcs(leader: "pg2", members: [Member("pg1", "master"), Member("pg2", "master")]));

        Assert.Equal("pg2", topology.Primary!.Name);
        Assert.False(topology.FindMember("pg1")!.IsLeader);
    }

    [Fact]
    public void Build_StandbyCluster_HasNoPrimary()
    {
        var topology = Build(Dcs() with { IsStandbyCluster = true });

        Assert.Equal(PrimaryStatus.None, topology.PrimaryStatus);
    }

    [Fact]
    public void Build_FailoverKeyNamingTheLeader_MarksSwitchoverPending()
    {
        Assert.True(Build(Dcs(failover: new FailoverRequest("pg1", "pg2", null))).SwitchoverPending);
        Assert.False(Build(Dcs(failover: new FailoverRequest("pg3", "pg2", null))).SwitchoverPending);
        Assert.False(Build(Dcs(failover: new FailoverRequest("pg1", "pg2", DateTimeOffset.Parse("2026-11-23T00:00:00Z")))).SwitchoverPending);
        Assert.True(Build(Dcs(failover: new FailoverRequest(null, "pg2", DateTimeOffset.Parse("2026-11-22T02:59:00Z")))).SwitchoverPending);
    }

    [Fact]
    public void Build_ReplicaLag_FromPatroniWhenNotMeasured()
    {
        var topology = Build(Dcs(leaderLsn: 60_000_000, members: [Member("pg1", "master"), Member("pg2", wal: 59_500_000)]));

        Assert.Equal(500_000, topology.FindMember("pg2")!.LagBytes);
        Assert.Null(topology.FindMember("pg2")!.NotReadableReason);
    }

    [Fact]
    public void Build_MeasuredReplayLag_WinsOverPatroniFigure()
    {
        // Patroni counts WAL received; a paused replay shows only in the measured position.
        var observations = Observed(("pg1", Seen(inRecovery: false, wal: 90_000_000)), ("pg2", Seen(inRecovery: true, wal: 50_000_000)));

        var topology = Build(Dcs(leaderLsn: 90_000_000, members: [Member("pg1", "master"), Member("pg2", wal: 90_000_000)]), observations);

        var replica = topology.FindMember("pg2")!;
        Assert.Equal(40_000_000, replica.LagBytes);
        Assert.Contains("lags 38 MB", replica.NotReadableReason);
    }

    [Fact]
    public void Build_StaleMeasurement_FallsBackToPatroni()
    {
        var observations = Observed(("pg1", Seen(inRecovery: false, wal: 90_000_000, at: 50)), ("pg2", Seen(inRecovery: true, wal: 50_000_000, at: 50)));

        var topology = Build(Dcs(leaderLsn: 90_000_000, members: [Member("pg1", "master"), Member("pg2", wal: 90_000_000)]), observations);

        Assert.Equal(0, topology.FindMember("pg2")!.LagBytes);
    }

    [Theory]
    [InlineData("stopped", "replica", false, 1, "it is stopped")]
    [InlineData("running", "replica", true, 1, "tagged noloadbalance")]
    [InlineData("running", "standby_leader", false, 1, "its role is standby_leader")]
    public void Build_ReplicaThatCannotTakeReads_SaysWhy(string state, string role, bool noLoadBalance, int timeline, string reason)
    {
        var topology = Build(Dcs(members: [Member("pg1", "master", timeline: 1), Member("pg2", role, state, timeline: timeline, noLoadBalance: noLoadBalance)]));

        Assert.Contains(reason, topology.FindMember("pg2")!.NotReadableReason);
    }

    [Fact]
    public void Build_ReplicaOnTheOldTimelineRightAfterASwitchover_StillTakesReads()
    {
        var topology = Build(Dcs(members: [Member("pg1", "master", timeline: 2), Member("pg2", timeline: 1)]));

        Assert.Null(topology.FindMember("pg2")!.NotReadableReason);
    }

    [Fact]
    public void Build_ReplicaWithoutPosition_CannotTakeReads()
    {
        var topology = Build(Dcs(members: [Member("pg1", "master"), Member("pg2", wal: null)]));

        Assert.Contains("position is unknown", topology.FindMember("pg2")!.NotReadableReason);
    }

    [Fact]
    public void Build_UnreachableReplica_CannotTakeReads()
    {
        var topology = Build(Dcs(), Observed(("pg2", Seen(inRecovery: null, reachable: false))));

        Assert.Contains("unreachable", topology.FindMember("pg2")!.NotReadableReason);
        Assert.Null(topology.FindMember("pg3")!.NotReadableReason);
    }

    [Fact]
    public void Build_StaticCluster_PrimaryIsTheOnlyHostOutOfRecovery()
    {
        var discovered = new DiscoveredCluster(0, null, 0, null,
            [Member("pg1", wal: null) with { Role = null }, Member("pg2", wal: null) with { Role = null }], null, false, RolesFromProbes: true);
        var observations = Observed(("pg1", Seen(inRecovery: true, wal: 1000, leaderRevision: 0)), ("pg2", Seen(inRecovery: false, wal: 5000, leaderRevision: 0)));

        var topology = Build(discovered, observations);

        Assert.Equal("pg2", topology.Primary!.Name);
        Assert.Equal(4000, topology.FindMember("pg1")!.LagBytes);
        Assert.Null(topology.FindMember("pg1")!.NotReadableReason);
    }

    [Fact]
    public void Build_StaticClusterWithTwoWritableHosts_RefusesToPick()
    {
        var discovered = new DiscoveredCluster(0, null, 0, null, [Member("pg1"), Member("pg2")], null, false, RolesFromProbes: true);
        var observations = Observed(("pg1", Seen(inRecovery: false, leaderRevision: 0)), ("pg2", Seen(inRecovery: false, leaderRevision: 0)));

        var topology = Build(discovered, observations);

        Assert.Equal(PrimaryStatus.None, topology.PrimaryStatus);
        Assert.Contains("several hosts", topology.PrimaryReason);
    }

    [Fact]
    public void Build_NothingDiscoveredYet_HasNoData()
    {
        var topology = TopologyBuilder.Build("demo", 0, 3, null, true, ImmutableDictionary<string, MemberObservation>.Empty, 0, DateTimeOffset.UnixEpoch);

        Assert.False(topology.HasData);
        Assert.True(topology.IsStale);
        Assert.Equal(3, topology.Version);
    }
}
