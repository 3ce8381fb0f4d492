using PgRouter.IntegrationTests.Support;
using Xunit;
using Xunit.Abstractions;

namespace PgRouter.IntegrationTests;

/// <summary>
/// Protocol-level prepared statements in transaction mode, where each transaction may run on another
/// server connection: every script runs once on PostgreSQL directly and once through PgRouter (a
/// pool of one connection, replaced between steps where the script says so), and the client must
/// see the very same answers. These are the cases poolers get wrong.
/// </summary>
[Collection(BedCollection.Name)]
public sealed class PreparedStatementTests(BedFixture bed, ITestOutputHelper output)
{
    private const string Pool = "app_one";

    [Fact]
    public Task LoneDescribe_OfAStatementPreparedOnAnotherServer() => SameAnswersAsync(async session =>
    {
        await session.ExchangeAsync(Wire.Parse("s1", "select $1::int + 1 as x"), Wire.Sync);
        await session.ReplaceServerAsync();
        await session.ExchangeAsync(Wire.DescribeStatement("s1"), Wire.Sync);
        await session.ExchangeAsync(Wire.Bind("s1", "41"), Wire.Execute(), Wire.Sync);
    });

    [Fact]
    public Task UnnamedStatement_LivesUntilTheNextParseOrQuery() => SameAnswersAsync(async session =>
    {
        await session.ExchangeAsync(Wire.Parse("", "select 2 as y"), Wire.Sync);
        await session.ReplaceServerAsync();
        await session.ExchangeAsync(Wire.Bind(""), Wire.Execute(), Wire.Sync);
        await session.ExchangeAsync(Wire.Query("select 1"));
        await session.ExchangeAsync(Wire.Bind(""), Wire.Execute(), Wire.Sync);
    });

    [Fact]
    public Task Close_OfAStatementThisServerNeverSaw() => SameAnswersAsync(async session =>
    {
        await session.ExchangeAsync(Wire.Parse("s2", "select 3"), Wire.Sync);
        await session.ReplaceServerAsync();
        await session.ExchangeAsync(Wire.CloseStatement("s2"), Wire.Sync);
        await session.ExchangeAsync(Wire.Bind("s2"), Wire.Execute(), Wire.Sync);
        await session.ExchangeAsync(Wire.Parse("s2", "select 4"), Wire.Bind("s2"), Wire.Execute(), Wire.Sync);
    });

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ResultTypeChangedByDdl_FailsTheBindUntilPreparedAgain(bool anotherServer)
    {
        await SameAnswersAsync(async session =>
        {
            await session.SqlAsync("drop table if exists shape_check; create table shape_check (a int); insert into shape_check values (1)");
            await session.ExchangeAsync(Wire.Parse("s3", "select * from shape_check"), Wire.Bind("s3"), Wire.Execute(), Wire.Sync);
            await session.SqlAsync("alter table shape_check add column b int default 5");
            if (anotherServer)
            {
                await session.ReplaceServerAsync();
            }
            await session.ExchangeAsync(Wire.Bind("s3"), Wire.Execute(), Wire.Sync);
            await session.ExchangeAsync(Wire.Bind("s3"), Wire.Execute(), Wire.Sync);
            await session.ExchangeAsync(Wire.CloseStatement("s3"), Wire.Parse("s3", "select * from shape_check"), Wire.Bind("s3"), Wire.Execute(), Wire.Sync);
        });
    }

    [Fact]
    public Task DuplicateName_FailedParse_AndSkippedRequests() => SameAnswersAsync(async session =>
    {
        await session.ExchangeAsync(Wire.Parse("s4", "select 4"), Wire.Sync);
        await session.ExchangeAsync(Wire.Parse("s4", "select 44"), Wire.Sync);
        await session.ExchangeAsync(Wire.Parse("s5", "selec 5"), Wire.Sync);
        await session.ExchangeAsync(Wire.Parse("s5", "select 5"), Wire.Bind("s5"), Wire.Execute(), Wire.Sync);
        // After the error nothing up to Sync happens: s7 is never prepared.
        await session.ExchangeAsync(Wire.Parse("s6", "select 6"), Wire.Bind("nowhere"), Wire.Execute(), Wire.Parse("s7", "select 7"), Wire.Sync);
        await session.ReplaceServerAsync();
        await session.ExchangeAsync(Wire.Bind("s7"), Wire.Execute(), Wire.Sync);
        await session.ExchangeAsync(Wire.Bind("s6"), Wire.Execute(), Wire.Sync);
    });

    [Fact]
    public Task SqlDeallocate_OfProtocolStatements() => SameAnswersAsync(async session =>
    {
        await session.ExchangeAsync(Wire.Parse("s8", "select 8"), Wire.Parse("S9", "select 9"), Wire.Sync);
        await session.ExchangeAsync(Wire.Query("DEALLOCATE s8"));
        await session.ExchangeAsync(Wire.Bind("s8"), Wire.Execute(), Wire.Sync);
        await session.ExchangeAsync(Wire.Query("deallocate prepare \"S9\""));
        await session.ExchangeAsync(Wire.Bind("S9"), Wire.Execute(), Wire.Sync);
        await session.ExchangeAsync(Wire.Parse("s10", "select 10"), Wire.Sync);
        await session.ExchangeAsync(Wire.Query("DEALLOCATE ALL"));
        await session.ExchangeAsync(Wire.Bind("s10"), Wire.Execute(), Wire.Sync);
    });

    [Fact]
    public Task StatementsInsideATransactionBlock() => SameAnswersAsync(async session =>
    {
        await session.ExchangeAsync(Wire.Query("begin"));
        await session.ExchangeAsync(Wire.Parse("s11", "select 11"), Wire.Sync);
        await session.ExchangeAsync(Wire.Bind("s11"), Wire.Execute(), Wire.Sync);
        await session.ExchangeAsync(Wire.Bind("nowhere"), Wire.Sync);
        await session.ExchangeAsync(Wire.Bind("s11"), Wire.Execute(), Wire.Sync);
        await session.ExchangeAsync(Wire.Query("rollback"));
        await session.ExchangeAsync(Wire.Bind("s11"), Wire.Execute(), Wire.Sync);
    });

    /// <summary>Runs the script directly and through PgRouter; both transcripts must be equal.</summary>
    private async Task SameAnswersAsync(Func<ScriptedSession, Task> script)
    {
        await bed.Router.WaitForSteadyAsync();
        var (_, primaryPort) = await bed.Bed.LeaderAsync();

        await using var direct = await ScriptedSession.OpenAsync(primaryPort, "app", primaryPort, replace: null);
        await script(direct);
        await using var routed = await ScriptedSession.OpenAsync(bed.Router.ReadWritePort, Pool, primaryPort, ReplaceServerAsync);
        await script(routed);

        output.WriteLine("directly:       " + string.Join(" | ", direct.Transcript));
        output.WriteLine("through PgRouter: " + string.Join(" | ", routed.Transcript));
        Assert.Equal(direct.Transcript, routed.Transcript);
    }

    /// <summary>Closes the pool's only server connection (the client is between transactions), so the next transaction gets a new one.</summary>
    private async Task ReplaceServerAsync(int primaryPort)
    {
        var pool = (await bed.Router.PoolsAsync()).Single(p => p!["database"]!.GetValue<string>() == Pool && p["total"]!.GetValue<int>() > 0)!;
        int pid = pool["idleServerPids"]!.AsArray().Single()!.GetValue<int>();
        await Bed.ScalarAsync(Bed.Superuser(primaryPort), $"select pg_terminate_backend({pid})");
        await Poll.UntilAsync(async () => await bed.Router.ServerConnectionsAsync(Pool) == 0, TimeSpan.FromSeconds(10), "PgRouter to drop the terminated server connection");
    }

    internal sealed class ScriptedSession : IAsyncDisposable
    {
        private readonly RawClient _client;
        private readonly int _primaryPort;
        private readonly Func<int, Task>? _replace;

        private ScriptedSession(RawClient client, int primaryPort, Func<int, Task>? replace) =>
            (_client, _primaryPort, _replace) = (client, primaryPort, replace);

        public List<string> Transcript { get; } = [];

        public static async Task<ScriptedSession> OpenAsync(int port, string database, int primaryPort, Func<int, Task>? replace)
        {
            var client = await RawClient.ConnectAsync(port);
            var login = await client.LoginAsync("app", "app", database);
            Assert.Equal('Z', login[^1].Type);
            return new ScriptedSession(client, primaryPort, replace);
        }

        public async Task ExchangeAsync(params byte[][] messages) => Transcript.Add(await _client.ExchangeAsync(messages));

        /// <summary>Between transactions: through PgRouter the next transaction gets another server connection; directly nothing happens.</summary>
        public Task ReplaceServerAsync() => _replace is null ? Task.CompletedTask : _replace(_primaryPort);

        /// <summary>SQL from another connection (DDL), straight to the primary.</summary>
        public Task SqlAsync(string sql) =>
            Bed.ScalarAsync($"Host=127.0.0.1;Port={_primaryPort};Username=app;Password=app;Database=app;Pooling=false;Timeout=5", sql);

        public ValueTask DisposeAsync() => _client.DisposeAsync();
    }
}
