using Npgsql;
using PgRouter.IntegrationTests.Support;
using Xunit;
using Xunit.Abstractions;

namespace PgRouter.IntegrationTests;

/// <summary>What an operator does by hand: `pgrouter switchover`, `pgrouter pause` and `pgrouter resume`.</summary>
[Collection(BedCollection.Name)]
public sealed class OperatorControlTests(BedFixture bed, ITestOutputHelper output)
{
    [Fact]
    public async Task PgrouterSwitchover_ARunningThreeSecondTransactionCommitsFirst_NoClientSeesAnError()
    {
        await bed.Router.WaitForSteadyAsync();
        var (oldLeader, oldLeaderPort) = await bed.Bed.LeaderAsync();
        string throughRouter = PgRouterProcess.ConnectionString(bed.Router.ReadWritePort);
        await using var load = await WriteLoad.StartAsync(throughRouter, writers: 4);
        await load.WaitForAcknowledgedAsync(40, TimeSpan.FromSeconds(30));

        // A transaction that holds its server for three seconds when the switchover is asked for.
        var longTransaction = Task.Run(async () =>
        {
            await using var connection = new NpgsqlConnection(throughRouter);
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await using var command = new NpgsqlCommand($"insert into {WriteLoad.Table} (id) values (-1); select pg_sleep(3)", connection, transaction);
            await command.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
            return DateTime.UtcNow;
        });
        await Poll.UntilAsync(async () => await Bed.ScalarAsync(Bed.Superuser(oldLeaderPort),
            "select count(*) from pg_stat_activity where query like '%pg_sleep(3)' and state = 'active'") is 1L,
            TimeSpan.FromSeconds(10), "the long transaction to be running on the leader");

        var switchover = await bed.Router.CommandAsync("switchover", "--cluster", Bed.Cluster);
        output.WriteLine(switchover.Output);
        Assert.True(switchover.ExitCode == 0, switchover.Output);
        Assert.Contains($"switched over from {oldLeader}", switchover.Stdout);

        var committedAt = await longTransaction;
        var (newLeader, newLeaderPort) = await bed.Bed.LeaderAsync();
        Assert.NotEqual(oldLeader, newLeader);
        // Patroni releases the old leader's key before the new one takes it: the first change names the old leader.
        var leaderChanged = bed.Router.Log.LastOrDefault(line => line.Text.Contains($"leader changed {oldLeader} -> "));
        Assert.NotNull(leaderChanged);
        Assert.True(committedAt < leaderChanged.Time, $"the transaction committed at {committedAt:HH:mm:ss.fff}, after the leader changed ({leaderChanged.Text})");

        // Writes go on on the new leader; nothing acknowledged is lost, nobody saw an error.
        await load.WaitForAcknowledgedAsync(40, TimeSpan.FromSeconds(30));
        await load.StopAsync();
        Assert.Empty(load.Errors);
        string direct = $"Host=127.0.0.1;Port={newLeaderPort};Username=app;Password=app;Database=app;Pooling=false";
        Assert.Empty(await load.MissingOnAsync(direct));
        Assert.Equal(1L, await Bed.ScalarAsync(direct, $"select count(*) from {WriteLoad.Table} where id = -1"));
    }

    [Fact]
    public async Task PauseHoldsNewTransactions_ResumeLetsThemGo()
    {
        await bed.Router.WaitForSteadyAsync();
        await using var connected = new NpgsqlConnection(PgRouterProcess.ConnectionString(bed.Router.ReadWritePort));
        await connected.OpenAsync();

        var paused = await bed.Router.CommandAsync("pause", "--cluster", Bed.Cluster);
        try
        {
            Assert.True(paused.ExitCode == 0, paused.Output);
            Assert.Contains($"cluster {Bed.Cluster} paused", paused.Stdout);
            Assert.Equal("all", (await bed.Router.ClusterAsync(Bed.Cluster))!["hold"]!.GetValue<string>());

            // Held: a transaction on a connected session, and a new session's first one, on either listener.
            int waitingBefore = WaitingLines();
            var held = new[]
            {
                ScalarAsync(connected, "select 1"),
                Task.Run(async () =>
                {
                    await using var fresh = new NpgsqlConnection(PgRouterProcess.ConnectionString(bed.Router.ReadOnlyPort));
                    await fresh.OpenAsync();
                    return await ScalarAsync(fresh, "select 2");
                }),
            };
            await Poll.UntilAsync(() => WaitingLines() >= waitingBefore + 2, TimeSpan.FromSeconds(10), "both transactions to wait at the hold");
            Assert.DoesNotContain(held, t => t.IsCompleted);

            var resumed = await bed.Router.CommandAsync("resume", "--cluster", Bed.Cluster);
            Assert.True(resumed.ExitCode == 0, resumed.Output);
            int[] answers = await Task.WhenAll(held);
            Assert.Equal([1, 2], answers);
        }
        finally
        {
            await bed.Router.CommandAsync("resume", "--cluster", Bed.Cluster);
        }
    }

    [Fact]
    public async Task UnknownClusterOrCandidate_IsRefusedAndNothingIsHeld()
    {
        var unknown = await bed.Router.CommandAsync("pause", "--cluster", "nope");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("no cluster named nope", unknown.Stdout);

        var candidate = await bed.Router.CommandAsync("switchover", "--cluster", Bed.Cluster, "--candidate", "pg9");
        Assert.Equal(1, candidate.ExitCode);
        Assert.Contains("candidate pg9 is not a replica", candidate.Stdout);
        Assert.Equal("none", (await bed.Router.ClusterAsync(Bed.Cluster))!["hold"]!.GetValue<string>());

        var usage = await bed.Router.CommandAsync("switchover");
        Assert.Equal(2, usage.ExitCode);
        Assert.Contains("--cluster is required", usage.Stderr);
    }

    private int WaitingLines() => bed.Router.Log.Count(line => line.Text.Contains($"is held: paused by an operator"));

    private static async Task<int> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (int)(await command.ExecuteScalarAsync())!;
    }
}
