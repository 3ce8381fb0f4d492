using Npgsql;
using PgRouter.IntegrationTests.Support;
using Xunit;

namespace PgRouter.IntegrationTests;

/// <summary>An etcd outage does not take the database tier down: PgRouter routes on what it last knew.</summary>
[Collection(BedCollection.Name)]
public sealed class EtcdOutageTests(BedFixture bed)
{
    private async Task<bool> StaleAsync() => (await bed.Router.ClusterAsync(Bed.Cluster))!["stale"]!.GetValue<bool>();

    [Fact]
    public async Task EtcdDownFor30Seconds_ConnectionsKeepWorkingAndPgRouterCatchesUp()
    {
        await bed.Router.WaitForSteadyAsync();
        var (_, leaderPort) = await bed.Bed.LeaderAsync();
        var onLeader = new Landing(false, leaderPort, "app");
        await using var held = new NpgsqlConnection(PgRouterProcess.ConnectionString(bed.Router.ReadWritePort));
        await held.OpenAsync();

        await bed.Bed.RunAsync("etcd-stop");
        try
        {
            await Poll.UntilAsync(StaleAsync, TimeSpan.FromSeconds(10), "PgRouter to mark the topology stale");

            var outage = TimeSpan.FromSeconds(30);
            var started = DateTime.UtcNow;
            using var pace = new PeriodicTimer(TimeSpan.FromSeconds(1));
            int rounds = 0;
            while (DateTime.UtcNow - started < outage && await pace.WaitForNextTickAsync())
            {
                Assert.Equal(onLeader, await Landing.OfAsync(held));
                await using var fresh = new NpgsqlConnection(PgRouterProcess.ConnectionString(bed.Router.ReadWritePort));
                await fresh.OpenAsync();
                Assert.Equal(onLeader, await Landing.OfAsync(fresh));
                await using var read = new NpgsqlConnection(PgRouterProcess.ConnectionString(bed.Router.ReadOnlyPort));
                await read.OpenAsync();
                Assert.True((await Landing.OfAsync(read)).InRecovery);
                rounds++;
            }
            Assert.True(rounds >= 25, $"only {rounds} rounds in 30 s");
        }
        finally
        {
            await bed.Bed.RunAsync("etcd-start");
        }

        await Poll.UntilAsync(async () => !await StaleAsync(), TimeSpan.FromSeconds(30), "PgRouter to watch etcd again");
        await using var etcd = new EtcdClient(bed.Bed.EtcdUrl);
        long revision = await etcd.RevisionAsync();
        await Poll.UntilAsync(async () => (await bed.Router.ClusterAsync(Bed.Cluster))!["etcdRevision"]!.GetValue<long>() >= revision,
            TimeSpan.FromSeconds(30), $"PgRouter to catch up with etcd revision {revision}");
        Assert.NotNull(bed.Router.FindLog(line => line.Contains("etcd unreachable, keeping the last known topology")));
        Assert.NotNull(bed.Router.FindLog(line => line.Contains("etcd reachable again")));
        Assert.Equal(onLeader, await Landing.OfAsync(held));
    }
}
