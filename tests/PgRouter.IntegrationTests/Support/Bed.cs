using Npgsql;

namespace PgRouter.IntegrationTests.Support;

/// <summary>
/// The test bed: etcd and a 3-member Patroni cluster started by deploy/local/bed.sh, the same
/// script the demo uses, on its own directory and ports so it runs beside a demo.
/// </summary>
internal sealed class Bed(string repositoryRoot, string directory, int portBase)
{
    public const string Cluster = "demo";
    public const string Scope = "demo";
    public const string Namespace = "/service";

    public int EtcdPort => portBase;

    /// <summary>A file the bed made: tls/ca.crt, userlist.txt, …</summary>
    public string File(string relative) => Path.Combine(directory, relative);

    public string EtcdUrl => $"http://127.0.0.1:{EtcdPort}";

    public static readonly string[] Members = ["pg1", "pg2", "pg3"];

    public int PostgresPort(string member) => portBase + 10 + int.Parse(member[2..]);

    public string MemberAt(int port) => Members.Single(m => PostgresPort(m) == port);

    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["BED_DIR"] = directory,
        ["BED_PORT_BASE"] = portBase.ToString(),
    };

    public async Task<string> RunAsync(params string[] arguments)
    {
        var result = await Commands.RunAsync(Path.Combine(repositoryRoot, "deploy/local/bed.sh"), arguments, TimeSpan.FromMinutes(4), Environment);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"bed.sh {string.Join(' ', arguments)} failed ({result.ExitCode}): {result.Output}");
        }
        return result.Stdout;
    }

    /// <summary>The leader as etcd names it, and its PostgreSQL port.</summary>
    public async Task<(string Name, int Port)> LeaderAsync()
    {
        string[] parts = (await RunAsync("leader")).Trim().Split(' ');
        return (parts[0], int.Parse(parts[1]));
    }

    /// <summary>A direct superuser connection to one member, bypassing PgRouter.</summary>
    public static string Superuser(int port) =>
        $"Host=127.0.0.1;Port={port};Username=postgres;Password=postgres;Database=postgres;Pooling=false;Timeout=5";

    public static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
