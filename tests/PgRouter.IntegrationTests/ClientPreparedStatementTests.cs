using Npgsql;
using PgRouter.IntegrationTests.Support;
using Xunit;
using Xunit.Abstractions;

namespace PgRouter.IntegrationTests;

/// <summary>
/// Real drivers that prepare statements, many connections at once on a pool of three servers in
/// transaction mode: every statement is used again and again, on whichever server the client gets.
/// </summary>
[Collection(BedCollection.Name)]
public sealed class ClientPreparedStatementTests(BedFixture bed, ITestOutputHelper output)
{
    private const string FewServers = "app_few";
    private const int Connections = 8;
    private const int Iterations = 150;

    [Fact]
    public async Task Npgsql_AutoPrepare_ManyConnectionsOnThreeServers()
    {
        await PrepareTableAsync();
        var builder = new NpgsqlConnectionStringBuilder(PgRouterProcess.ConnectionString(bed.Router.ReadWritePort, FewServers))
        {
            MaxAutoPrepare = 10,
            AutoPrepareMinUsages = 2,
        };
        var seen = await Task.WhenAll(Enumerable.Range(0, Connections).Select(_ => Task.Run(async () =>
        {
            var pids = new HashSet<int>();
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync();
            for (int i = 0; i < Iterations; i++)
            {
                await using (var addOne = new NpgsqlCommand("select $1::int + 1, pg_backend_pid()", connection) { Parameters = { new() { Value = i } } })
                await using (var reader = await addOne.ExecuteReaderAsync())
                {
                    await reader.ReadAsync();
                    Assert.Equal(i + 1, reader.GetInt32(0));
                    pids.Add(reader.GetInt32(1));
                }
                if (i % 10 == 0)
                {
                    await using var transaction = await connection.BeginTransactionAsync();
                    await using var insert = new NpgsqlCommand("insert into prepared_loop (n) values ($1)", connection, transaction) { Parameters = { new() { Value = i } } };
                    await insert.ExecuteNonQueryAsync();
                    await transaction.CommitAsync();
                }
            }
            return pids;
        })));

        AssertSpreadOverServers(seen.Length, seen.SelectMany(p => p).Distinct().Count(), seen.Count(p => p.Count > 1));
    }

    [Fact]
    public async Task Jdbc_PrepareThreshold1_ManyConnectionsOnThreeServers()
    {
        await PrepareTableAsync();
        var run = await Commands.RunAsync("java", ["-cp", "/usr/share/java/postgresql.jar",
            Path.Combine(bed.RepositoryRoot, "tests/PgRouter.IntegrationTests/Clients/JdbcPreparedLoop.java"),
            $"jdbc:postgresql://127.0.0.1:{bed.Router.ReadWritePort}/{FewServers}?sslmode=disable", "app", "app", $"{Connections}", $"{Iterations}"],
            TimeSpan.FromMinutes(3));
        AssertLoopOutput(run, Connections, expectHops: true);
    }

    [Fact]
    public async Task Psycopg3_ProtocolLevelStatements_ManyConnectionsOnThreeServers()
    {
        await PrepareTableAsync();
        var run = await PythonLoopAsync("psycopg", FewServers, Connections);
        AssertLoopOutput(run, Connections, expectHops: true);
    }

    /// <summary>psycopg2 prepares with SQL PREPARE, which keeps its server for the session: it needs a server per connection.</summary>
    [Fact]
    public async Task Psycopg2_SqlPrepare_KeepsItsServer_AndWorks()
    {
        await PrepareTableAsync();
        var run = await PythonLoopAsync("psycopg2", "app", 4);
        AssertLoopOutput(run, 4, expectHops: false);
    }

    private Task<CommandResult> PythonLoopAsync(string driver, string database, int connections) =>
        Commands.RunAsync("/usr/bin/python3", [Path.Combine(bed.RepositoryRoot, "tests/PgRouter.IntegrationTests/Clients/prepared_loop.py"), driver,
            $"host=127.0.0.1 port={bed.Router.ReadWritePort} user=app dbname={database} sslmode=disable", "app", $"{connections}", $"{Iterations}"],
            TimeSpan.FromMinutes(3));

    private void AssertLoopOutput(CommandResult run, int connections, bool expectHops)
    {
        output.WriteLine(run.Output);
        Assert.True(run.ExitCode == 0, run.Output);
        string[] words = run.Stdout.Trim().Split(' ');
        Assert.Equal("ok", words[0]);
        if (expectHops)
        {
            AssertSpreadOverServers(connections, int.Parse(words[1]), int.Parse(words[2]));
        }
        else
        {
            Assert.Equal("0", words[2]);
        }
    }

    private void AssertSpreadOverServers(int connections, int servers, int hopped)
    {
        output.WriteLine($"{connections} connections used {servers} server connections; {hopped} of them ran on more than one");
        Assert.InRange(servers, 2, 3);
        Assert.True(hopped > 0, "no client's statements ever moved to another server connection");
    }

    private async Task PrepareTableAsync()
    {
        await bed.Router.WaitForSteadyAsync();
        await using var connection = new NpgsqlConnection(PgRouterProcess.ConnectionString(bed.Router.ReadWritePort));
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand("create table if not exists prepared_loop (n int not null)", connection);
        await create.ExecuteNonQueryAsync();
    }
}
