using System.Diagnostics;
using Npgsql;
using PgRouter.IntegrationTests.Support;
using Xunit;

namespace PgRouter.IntegrationTests;

/// <summary>A CancelRequest sent to PgRouter reaches the right query on the right server.</summary>
[Collection(BedCollection.Name)]
public sealed class CancelTests(BedFixture bed)
{
    private static async Task<bool> SleepingAsync(int leaderPort) =>
        (long)(await Bed.ScalarAsync(Bed.Superuser(leaderPort), "select count(*) from pg_stat_activity where query = 'select pg_sleep(60)' and state = 'active'"))! > 0;

    [Fact]
    public async Task PsqlCtrlC_CancelsPgSleepThroughPgRouter()
    {
        await bed.Router.WaitForSteadyAsync();
        var (_, leaderPort) = await bed.Bed.LeaderAsync();
        var start = new ProcessStartInfo("psql")
        {
            ArgumentList = { "-X", "-h", "127.0.0.1", "-p", bed.Router.ReadWritePort.ToString(), "-U", "app", "-d", "app", "-c", "select pg_sleep(60)" },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            Environment = { ["PGPASSWORD"] = "app" },
        };
        using var psql = Process.Start(start)!;
        var stderr = psql.StandardError.ReadToEndAsync();

        await Poll.UntilAsync(() => SleepingAsync(leaderPort), TimeSpan.FromSeconds(20), "pg_sleep(60) to run on the leader");
        var watch = Stopwatch.StartNew();
        // What Ctrl-C does: psql's SIGINT handler sends a CancelRequest on a new connection.
        Process.Start("kill", ["-INT", psql.Id.ToString()])!.WaitForExit();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await psql.WaitForExitAsync(deadline.Token);

        Assert.Equal(1, psql.ExitCode);
        Assert.Contains("canceling statement due to user request", await stderr);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task NpgsqlCancel_CancelsTheRunningCommand()
    {
        await bed.Router.WaitForSteadyAsync();
        var (_, leaderPort) = await bed.Bed.LeaderAsync();
        await using var connection = new NpgsqlConnection(PgRouterProcess.ConnectionString(bed.Router.ReadWritePort));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select pg_sleep(60)", connection);

        var running = command.ExecuteNonQueryAsync();
        await Poll.UntilAsync(() => SleepingAsync(leaderPort), TimeSpan.FromSeconds(20), "pg_sleep(60) to run on the leader");
        command.Cancel();

        // Npgsql reports a cancelled command as OperationCanceledException around the server's 57014.
        var error = await Assert.ThrowsAsync<OperationCanceledException>(() => running);
        Assert.Equal("57014", Assert.IsType<PostgresException>(error.InnerException).SqlState);
        await using var check = new NpgsqlCommand("select 1", connection);
        Assert.Equal(1, await check.ExecuteScalarAsync());
    }
}
