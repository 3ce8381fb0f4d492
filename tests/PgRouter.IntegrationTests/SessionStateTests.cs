using Npgsql;
using PgRouter.IntegrationTests.Support;
using Xunit;

namespace PgRouter.IntegrationTests;

/// <summary>
/// Session state in transaction mode, on a pool of one server that every client shares: what a
/// client set follows it, and nothing it set reaches the next client.
/// </summary>
[Collection(BedCollection.Name)]
public sealed class SessionStateTests(BedFixture bed)
{
    private const string OneServer = "app_one";

    [Fact]
    public async Task Set_FollowsItsClient_AndNeverReachesTheNext()
    {
        await using var a = await OpenAsync();
        await using var b = await OpenAsync();
        await ExecuteAsync(a, "set statement_timeout = '1234ms'");

        Assert.Equal("0", await ShowAsync(b, "statement_timeout"));
        Assert.Equal("1234ms", await ShowAsync(a, "statement_timeout"));
        await ExecuteAsync(a, "reset statement_timeout");
        Assert.Equal("0", await ShowAsync(a, "statement_timeout"));
    }

    [Fact]
    public async Task FailedOrRolledBackSet_IsNotReplayed()
    {
        await using var a = await OpenAsync();
        await using var b = await OpenAsync();
        await ExecuteAsync(a, "begin; set statement_timeout = '5s'; rollback");
        var failed = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(a, "set work_mem = 'lots'"));
        Assert.Equal("22023", failed.SqlState);

        // Another client used the server in between: A's settings are applied again, without those two.
        Assert.Equal("0", await ShowAsync(b, "statement_timeout"));
        Assert.Equal("0", await ShowAsync(a, "statement_timeout"));
        Assert.Equal("4MB", await ShowAsync(a, "work_mem"));
    }

    [Fact]
    public async Task SetRolledBackToASavepoint_IsNotReplayed()
    {
        await using var a = await OpenAsync();
        await using var b = await OpenAsync();
        await using (var transaction = await a.BeginTransactionAsync())
        {
            await ExecuteAsync(a, "set statement_timeout = '1s'");
            await transaction.SaveAsync("before_five");
            await ExecuteAsync(a, "set statement_timeout = '5s'");
            await transaction.RollbackAsync("before_five");
            await transaction.CommitAsync();
        }

        Assert.Equal("0", await ShowAsync(b, "statement_timeout"));
        Assert.Equal("1s", await ShowAsync(a, "statement_timeout"));
    }

    [Fact]
    public async Task StartupParametersAndOptions_AreTheClientsOwn_OnASharedServer()
    {
        await using var a = await OpenAsync(options: "-c statement_timeout=777 -c DateStyle=German");
        await using var b = await OpenAsync();

        Assert.Equal("0", await ShowAsync(b, "statement_timeout"));
        Assert.Equal("777ms", await ShowAsync(a, "statement_timeout"));
        Assert.Equal("German, DMY", await ShowAsync(a, "DateStyle"));
        Assert.Equal("ISO, MDY", await ShowAsync(b, "DateStyle"));
        // RESET gives the client's startup value back, as on PostgreSQL.
        await ExecuteAsync(a, "set statement_timeout = 5; reset statement_timeout");
        Assert.Equal("777ms", await ShowAsync(a, "statement_timeout"));
    }

    [Fact]
    public async Task Listen_KeepsItsServer_AndNotificationsArrive()
    {
        await using var listener = new NpgsqlConnection(PgRouterProcess.ConnectionString(bed.Router.ReadWritePort));
        await listener.OpenAsync();
        var received = new TaskCompletionSource<string>();
        listener.Notification += (_, e) => received.TrySetResult(e.Payload);
        await ExecuteAsync(listener, "listen pgrouter_jobs");

        await using var notifier = new NpgsqlConnection(PgRouterProcess.ConnectionString(bed.Router.ReadWritePort));
        await notifier.OpenAsync();
        await ExecuteAsync(notifier, "notify pgrouter_jobs, 'job 1'");

        var wait = listener.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("job 1", await received.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        await wait;
    }

    [Fact]
    public async Task CopyInAndOut_OnASharedServer()
    {
        await using var a = await OpenAsync();
        await using var b = await OpenAsync();
        await ExecuteAsync(a, "create table if not exists copy_probe (n int, t text); truncate copy_probe");

        await using (var writer = await a.BeginTextImportAsync("copy copy_probe from stdin"))
        {
            for (int i = 0; i < 1000; i++)
            {
                await writer.WriteLineAsync($"{i}\tline {i}");
            }
        }
        Assert.Equal("1000", await ScalarTextAsync(b, "select count(*)::text from copy_probe"));

        using var reader = await b.BeginTextExportAsync("copy (select n, t from copy_probe order by n) to stdout");
        int lines = 0;
        while (await reader.ReadLineAsync() is { } line)
        {
            Assert.Equal($"{lines}\tline {lines}", line);
            lines++;
        }
        Assert.Equal(1000, lines);
    }

    private async Task<NpgsqlConnection> OpenAsync(string? options = null)
    {
        await bed.Router.WaitForSteadyAsync();
        var connection = new NpgsqlConnection(PgRouterProcess.ConnectionString(bed.Router.ReadWritePort, OneServer, options: options));
        await connection.OpenAsync();
        return connection;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<string> ScalarTextAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<string> ShowAsync(NpgsqlConnection connection, string parameter)
    {
        await using var command = new NpgsqlCommand($"show {parameter}", connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }
}
