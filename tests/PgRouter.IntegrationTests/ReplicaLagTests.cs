using PgRouter.IntegrationTests.Support;
using Xunit;

namespace PgRouter.IntegrationTests;

/// <summary>A replica that falls behind the lag limit stops getting reads, and gets them again once it catches up.</summary>
[Collection(BedCollection.Name)]
public sealed class ReplicaLagTests(BedFixture bed)
{
    private async Task<int> ReadPortAsync() => (await Landing.OfAsync(PgRouterProcess.ConnectionString(bed.Router.ReadOnlyPort))).Port;

    private async Task<bool> TakesReadsAsync(string member) =>
        (await bed.Router.ClusterAsync(Bed.Cluster))!["members"]!.AsArray()
            .Single(m => m!["name"]!.GetValue<string>() == member)!["takesReads"]!.GetValue<bool>();

    [Fact]
    public async Task PausedReplay_ExcludesTheReplicaUntilReplayResumes()
    {
        await bed.Router.WaitForSteadyAsync();
        var (leader, leaderPort) = await bed.Bed.LeaderAsync();
        string paused = Bed.Members.First(m => m != leader);
        int pausedPort = bed.Bed.PostgresPort(paused);

        await Bed.ScalarAsync(Bed.Superuser(pausedPort), "select pg_wal_replay_pause()");
        try
        {
            // About 5 MB of WAL, well over the 1 MB limit of the test configuration.
            await Bed.ScalarAsync(PgRouterProcess.ConnectionString(bed.Router.ReadWritePort),
                "drop table if exists lag_filler; create table lag_filler as select repeat('x', 1000) as filler from generate_series(1, 5000)");
            await Poll.UntilAsync(async () => !await TakesReadsAsync(paused), TimeSpan.FromSeconds(15), $"{paused} to stop taking reads");

            for (int i = 0; i < 10; i++)
            {
                Assert.NotEqual(pausedPort, await ReadPortAsync());
            }
        }
        finally
        {
            await Bed.ScalarAsync(Bed.Superuser(pausedPort), "select pg_wal_replay_resume()");
        }

        await Poll.UntilAsync(() => TakesReadsAsync(paused), TimeSpan.FromSeconds(15), $"{paused} to take reads again");
        await Poll.UntilAsync(async () => await ReadPortAsync() == pausedPort, TimeSpan.FromSeconds(15), $"a read connection to reach {paused}");
        await Bed.ScalarAsync(Bed.Superuser(leaderPort), "drop table if exists lag_filler");
    }
}
