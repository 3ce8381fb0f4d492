using Npgsql;
using PgRouter.IntegrationTests.Support;
using Xunit;

namespace PgRouter.IntegrationTests;

/// <summary>
/// A full pool queues transactions: on a pool of one server (app_one, queue timeout 2 s) a second
/// client's transaction waits for the first to end, and gets 53300 naming the pool if it does not.
/// </summary>
[Collection(BedCollection.Name)]
public sealed class PoolQueueTests(BedFixture bed)
{
    private const string OneServer = "app_one";

    [Fact]
    public async Task Transaction_WaitsForTheServer_AndRunsWhenItIsFree()
    {
        await using var holder = await OpenAsync();
        await using var waiter = await OpenAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        await ScalarAsync(holder, "select 1");

        var queued = ScalarAsync(waiter, "select 2");
        await Poll.UntilAsync(async () => await WaitingAsync() == 1, TimeSpan.FromSeconds(10), "the second client to queue for the pool");
        Assert.False(queued.IsCompleted);

        await transaction.CommitAsync();
        Assert.Equal(2, await queued.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task QueueTimeout_Gives53300_NamingThePool()
    {
        await using var holder = await OpenAsync();
        await using var waiter = await OpenAsync();
        await using (var transaction = await holder.BeginTransactionAsync())
        {
            await ScalarAsync(holder, "select 1");
            var refused = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(waiter, "select 2").WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Equal("53300", refused.SqlState);
            Assert.Contains(OneServer, refused.MessageText);
            await transaction.CommitAsync();
        }

        // Npgsql closes a connection on any class 53 error (psycopg2 and libpq keep it): a new one goes on.
        Assert.Equal(0, await WaitingAsync());
        await using var again = await OpenAsync();
        Assert.Equal(3, await ScalarAsync(again, "select 3"));
    }

    private async Task<int> WaitingAsync() =>
        (await bed.Router.PoolsAsync()).Where(p => p!["database"]!.GetValue<string>() == OneServer).Sum(p => p!["waiting"]!.GetValue<int>());

    private async Task<NpgsqlConnection> OpenAsync()
    {
        await bed.Router.WaitForSteadyAsync();
        var connection = new NpgsqlConnection(PgRouterProcess.ConnectionString(bed.Router.ReadWritePort, OneServer));
        await connection.OpenAsync();
        return connection;
    }

    private static async Task<int> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (int)(await command.ExecuteScalarAsync())!;
    }
}
