using Microsoft.Extensions.Logging.Abstractions;
using PgRouter.Topology;
using Xunit;
using static PgRouter.Tests.Support.Topologies;

namespace PgRouter.Tests.Topology;

public class TopologyStoreTests
{
    private static TopologyStore Store() =>
        new([KeyValuePair.Create("demo", 1024L * 1024)], TimeProvider.System, new TopologyChangeLog(NullLogger<TopologyChangeLog>.Instance));

    [Fact]
    public void Current_BeforeDiscovery_HasNoData()
    {
        Assert.False(Store().Current("demo").HasData);
    }

    [Fact]
    public void PublishDiscovery_WakesWaitersAndRaisesTheVersion()
    {
        var store = Store();
        var before = store.Current("demo");
        var change = store.NextChange("demo");

        store.PublishDiscovery("demo", Dcs());

        Assert.True(change.IsCompleted);
        var after = store.Current("demo");
        Assert.True(after.Version > before.Version);
        Assert.Equal("pg1", after.Primary!.Name);
        Assert.False(store.NextChange("demo").IsCompleted);
    }

    [Fact]
    public void SetStale_KeepsTheLastKnownTopology()
    {
        var store = Store();
        store.PublishDiscovery("demo", Dcs());

        store.SetStale("demo", true);

        var topology = store.Current("demo");
        Assert.True(topology.IsStale);
        Assert.Equal("pg1", topology.Primary!.Name);
    }

    [Fact]
    public async Task PublishDiscovery_ScheduledSwitchover_BecomesPendingAtItsTimeWithoutAnotherEvent()
    {
        var store = Store();
        var at = DateTimeOffset.UtcNow.AddMilliseconds(300);

        store.PublishDiscovery("demo", Dcs(failover: new FailoverRequest("pg1", "pg2", at)));
        Assert.False(store.Current("demo").SwitchoverPending);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!store.Current("demo").SwitchoverPending && DateTime.UtcNow < deadline)
        {
            await store.NextChange("demo").WaitAsync(TimeSpan.FromSeconds(10));
        }
        Assert.True(store.Current("demo").SwitchoverPending);
        Assert.True(DateTimeOffset.UtcNow >= at);
    }

    [Fact]
    public void Observe_InRecoveryFromALogin_FencesTheLeaderUntilSeenWritable()
    {
        var store = Store();
        store.PublishDiscovery("demo", Dcs());
        long now = TimeProvider.System.GetTimestamp();

        store.Observe("demo", "pg1", new MemberObservation(true, true, null, LeaderRevision, now, null));
        Assert.Equal(PrimaryStatus.Fenced, store.Current("demo").PrimaryStatus);

        store.Observe("demo", "pg1", new MemberObservation(true, false, 100, LeaderRevision, now, null));
        Assert.Equal(PrimaryStatus.Confirmed, store.Current("demo").PrimaryStatus);
    }
}
