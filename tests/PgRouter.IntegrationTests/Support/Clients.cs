using Npgsql;

namespace PgRouter.IntegrationTests.Support;

/// <summary>
/// The real clients, each logging in through PgRouter and printing one row as "a|b|c": psql, pgbench,
/// psycopg2 (libpq underneath), pgJDBC (its own protocol code and SCRAM) and Npgsql.
/// </summary>
internal sealed class Clients(string repositoryRoot, string caFile)
{
    public const string Psql = "psql";
    public const string Pgbench = "pgbench";
    public const string Psycopg2 = "psycopg2";
    public const string Jdbc = "jdbc";
    public const string Npgsql = "npgsql";

    /// <summary>What the session sees: who, and whether PgRouter reached the server over TLS.</summary>
    public const string WhoAndServerTls = "select current_user, (select ssl from pg_stat_ssl where pid = pg_backend_pid())";

    public async Task<string> QueryAsync(string client, int port, string user, string password, bool tls, string sql = WhoAndServerTls)
    {
        string libpq = $"host=127.0.0.1 port={port} user={user} dbname=app " + (tls ? $"sslmode=verify-full sslrootcert={caFile}" : "sslmode=disable");
        var environment = new Dictionary<string, string> { ["PGPASSWORD"] = password };
        switch (client)
        {
            case Psql:
                return Output(await Commands.RunAsync("psql", [libpq, "-XAtc", sql], Timeout, environment));
            case Pgbench:
                string script = Path.Combine(Path.GetTempPath(), $"pgrouter-pgbench-{Guid.NewGuid():N}.sql");
                await File.WriteAllTextAsync(script, sql + ";\n");
                try
                {
                    var run = await Commands.RunAsync("pgbench", ["-n", "-c", "2", "-t", "20", "-f", script, libpq], Timeout, environment);
                    return run.ExitCode == 0 && run.Stdout.Contains("number of failed transactions: 0", StringComparison.Ordinal)
                        ? "ok"
                        : throw new ClientFailedException(run.Output);
                }
                finally
                {
                    File.Delete(script);
                }
            case Psycopg2:
                string python = "import sys, psycopg2\nc = psycopg2.connect(sys.argv[1], password=sys.argv[2])\ncur = c.cursor()\ncur.execute(sys.argv[3])\nprint('|'.join('t' if v is True else 'f' if v is False else str(v) for v in cur.fetchone()))";
                return Output(await Commands.RunAsync("/usr/bin/python3", ["-c", python, libpq, password, sql], Timeout));
            case Jdbc:
                string url = $"jdbc:postgresql://127.0.0.1:{port}/app?" + (tls ? $"sslmode=verify-full&sslrootcert={caFile}" : "sslmode=disable");
                return Output(await Commands.RunAsync("java", ["-cp", "/usr/share/java/postgresql.jar",
                    Path.Combine(repositoryRoot, "tests/PgRouter.IntegrationTests/Clients/JdbcProbe.java"), url, user, password, sql], Timeout));
            default:
                var builder = new NpgsqlConnectionStringBuilder(PgRouterProcess.ConnectionString(port, user: user, password: password))
                {
                    SslMode = tls ? SslMode.VerifyFull : SslMode.Disable,
                    RootCertificate = tls ? caFile : null,
                };
                await using (var connection = new NpgsqlConnection(builder.ConnectionString))
                {
                    await connection.OpenAsync();
                    await using var command = new NpgsqlCommand(sql, connection);
                    await using var reader = await command.ExecuteReaderAsync();
                    await reader.ReadAsync();
                    return string.Join('|', Enumerable.Range(0, reader.FieldCount).Select(i => reader.GetValue(i) switch { true => "t", false => "f", var v => v.ToString() }));
                }
        }
    }

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static string Output(CommandResult result) =>
        result.ExitCode == 0 ? result.Stdout.Trim() : throw new ClientFailedException(result.Output);
}

internal sealed class ClientFailedException(string output) : Exception(output);
