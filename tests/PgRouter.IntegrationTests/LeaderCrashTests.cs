using Npgsql;
using PgRouter.IntegrationTests.Support;
using Xunit;
using Xunit.Abstractions;

namespace PgRouter.IntegrationTests;

/// <summary>
/// The leader dies (Patroni and PostgreSQL killed with SIGKILL): only transactions in flight on it
/// fail; idle clients never notice, and new transactions wait until Patroni elects a new leader.
/// </summary>
[Collection(BedCollection.Name)]
public sealed class LeaderCrashTests(BedFixture bed, ITestOutputHelper output)
{
    [Fact]
    public async Task LeaderKilled_IdleClientsSeeNoError_WritesWaitForTheNewLeader()
    {
        await bed.Router.WaitForSteadyAsync();
        var (oldLeader, _) = await bed.Bed.LeaderAsync();
        string throughRouter = PgRouterProcess.ConnectionString(bed.Router.ReadWritePort);
        var idle = new List<NpgsqlConnection>();
        try
        {
            for (int i = 0; i < 5; i++)
            {
                var connection = new NpgsqlConnection(throughRouter);
                await connection.OpenAsync();
                await ServerPortAsync(connection);
                idle.Add(connection);
            }
            await using var load = await WriteLoad.StartAsync(throughRouter, writers: 2);
            await load.WaitForAcknowledgedAsync(20, TimeSpan.FromSeconds(30));

            await bed.Bed.RunAsync("kill-member", oldLeader);
            var (newLeader, newLeaderPort) = await WaitForNewLeaderAsync(oldLeader);

            // Sessions that were idle through the crash go on, on the new leader, without an error.
            foreach (var connection in idle)
            {
                Assert.Equal(newLeaderPort, await ServerPortAsync(connection));
            }
            await load.WaitForAcknowledgedAsync(20, TimeSpan.FromSeconds(30));
            await load.StopAsync();
            foreach (string error in load.Errors)
            {
                output.WriteLine(error);
            }
            // At most the insert each writer had in flight on the dead server.
            Assert.True(load.Errors.Count <= 2, string.Join(Environment.NewLine, load.Errors));
            output.WriteLine($"new leader {newLeader}; {load.Acknowledged.Count} rows acknowledged, {load.Errors.Count} errors");
        }
        finally
        {
            foreach (var connection in idle)
            {
                await connection.DisposeAsync();
            }
            await bed.Bed.RunAsync("start-member", oldLeader);
        }
    }

    private async Task<(string Name, int Port)> WaitForNewLeaderAsync(string oldLeader)
    {
        string? leader = null;
        await Poll.UntilAsync(async () =>
        {
            var cluster = await bed.Router.ClusterAsync(Bed.Cluster);
            leader = cluster?["leader"]?.GetValue<string>();
            return leader is not null && leader != oldLeader && cluster!["primaryStatus"]!.GetValue<string>() == "confirmed";
        }, TimeSpan.FromSeconds(60), "Patroni to elect a new leader");
        return (leader!, bed.Bed.PostgresPort(leader!));
    }

    private static async Task<int> ServerPortAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand("select inet_server_port()", connection);
        return (int)(await command.ExecuteScalarAsync())!;
    }
}
