using Npgsql;
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
    public async Task StalledReplay_ExcludesTheReplicaUntilItCatchesUp()
    {
        await bed.Router.WaitForSteadyAsync();
        var (leader, leaderPort) = await bed.Bed.LeaderAsync();
        string stalled = Bed.Members.First(m => m != leader);
        int stalledPort = bed.Bed.PostgresPort(stalled);

        // Replay stalls behind a query on the replica that holds a lock the replayed DROP TABLE needs
        // (for max_standby_streaming_delay, 30 s). pg_wal_replay_pause() would not do: Patroni resumes
        // paused replay on PostgreSQL 14+ in its next cycle.
        await Bed.ScalarAsync(Bed.Superuser(leaderPort), "drop table if exists lag_anchor; create table lag_anchor (id int)");
        await Poll.UntilAsync(async () => await Bed.ScalarAsync(Bed.Superuser(stalledPort), "select to_regclass('lag_anchor') is not null") is true,
            TimeSpan.FromSeconds(15), $"{stalled} to replay the anchor table");
        var blocker = new NpgsqlConnection(Bed.Superuser(stalledPort));
        await blocker.OpenAsync();
        try
        {
            await using (var begin = new NpgsqlCommand("begin isolation level repeatable read; select count(*) from lag_anchor", blocker))
            {
                await begin.ExecuteScalarAsync();
            }
            await Bed.ScalarAsync(Bed.Superuser(leaderPort), "drop table lag_anchor");
            // About 5 MB of WAL behind the stalled DROP, well over the 1 MB limit of the test configuration.
            await Bed.ScalarAsync(PgRouterProcess.ConnectionString(bed.Router.ReadWritePort),
                "drop table if exists lag_filler; create table lag_filler as select repeat('x', 1000) as filler from generate_series(1, 5000)");
            await Poll.UntilAsync(async () => !await TakesReadsAsync(stalled), TimeSpan.FromSeconds(15), $"{stalled} to stop taking reads");

            for (int i = 0; i < 10; i++)
            {
                Assert.NotEqual(stalledPort, await ReadPortAsync());
            }
        }
        finally
        {
            await blocker.DisposeAsync();
        }

        await Poll.UntilAsync(() => TakesReadsAsync(stalled), TimeSpan.FromSeconds(15), $"{stalled} to take reads again");
        await Poll.UntilAsync(async () => await ReadPortAsync() == stalledPort, TimeSpan.FromSeconds(15), $"a read connection to reach {stalled}");
        await Bed.ScalarAsync(Bed.Superuser(leaderPort), "drop table if exists lag_filler");
    }
}
