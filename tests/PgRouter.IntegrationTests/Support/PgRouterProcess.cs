using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PgRouter.IntegrationTests.Support;

internal sealed record LogLine(DateTime Time, string Text);

/// <summary>The real pgrouter executable, started with a configuration for the test bed; its log is kept line by line.</summary>
internal sealed class PgRouterProcess : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly Process _process;
    private readonly ConcurrentQueue<LogLine> _log = new();

    private readonly StreamWriter _logFile;
    private readonly string _executable;
    private readonly string _configFile;

    private PgRouterProcess(Process process, int portBase, string workDirectory, string executable, string configFile)
    {
        _process = process;
        _executable = executable;
        _configFile = configFile;
        PortBase = portBase;
        // Kept after the run for whoever has to find out why a test failed.
        _logFile = new StreamWriter(Path.Combine(workDirectory, "pgrouter.log"), append: false) { AutoFlush = true };
        _process.OutputDataReceived += (_, e) => Record(e.Data);
        _process.ErrorDataReceived += (_, e) => Record(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int PortBase { get; }

    public int ReadWritePort => PortBase;

    public int ReadOnlyPort => PortBase + 1;

    public int PreferReplicaPort => PortBase + 2;

    public int AnyPort => PortBase + 3;

    public int TlsOnlyPort => PortBase + 4;

    public int AdminPort => PortBase + 9;

    public IReadOnlyCollection<LogLine> Log => _log;

    public static Task<PgRouterProcess> StartAsync(string repositoryRoot, Bed bed, int portBase, string workDirectory) =>
        StartAsync(repositoryRoot, Configuration(bed, portBase), portBase, workDirectory);

    /// <summary>Starts with the given configuration and, unless told not to, waits until its first cluster has a primary.</summary>
    public static async Task<PgRouterProcess> StartAsync(string repositoryRoot, JsonObject configuration, int portBase, string workDirectory, bool waitForPrimary = true)
    {
        Directory.CreateDirectory(workDirectory);
        string configFile = Path.Combine(workDirectory, "pgrouter.json");
        await File.WriteAllTextAsync(configFile, configuration.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        string cluster = configuration["PgRouter"]!["Clusters"]!.AsObject().First().Key;

        // The executable built in the same configuration as these tests.
        string build = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        string executable = Path.Combine(repositoryRoot, "src/PgRouter/bin", build, "net10.0/pgrouter.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { executable, "--config", configFile },
            WorkingDirectory = workDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var router = new PgRouterProcess(Process.Start(start)!, portBase, workDirectory, executable, configFile);
        if (!waitForPrimary)
        {
            return router;
        }
        try
        {
            await Poll.UntilAsync(async () => (await router.ClusterAsync(cluster))?["primaryStatus"]?.GetValue<string>() == "confirmed",
                TimeSpan.FromSeconds(30), $"PgRouter to find the primary of cluster {cluster}");
        }
        catch (TimeoutException e)
        {
            await router.DisposeAsync();
            throw new TimeoutException($"{e.Message}; its log: {string.Join(Environment.NewLine, router.Log.Select(l => l.Text))}");
        }
        return router;
    }

    /// <summary>The configuration for the test bed: four listeners from <paramref name="portBase"/>, admin on +9.</summary>
    public static JsonObject Configuration(Bed bed, int portBase) => new()
    {
        ["Logging"] = new JsonObject { ["LogLevel"] = new JsonObject { ["Default"] = "Information", ["Microsoft"] = "Warning" } },
        ["PgRouter"] = new JsonObject
        {
            ["Listeners"] = new JsonArray(
                Listener("read-write", portBase, "primary"),
                Listener("read-only", portBase + 1, "replica"),
                Listener("prefer-replica", portBase + 2, "prefer-replica"),
                Listener("any", portBase + 3, "any", "least-connections"),
                Listener("tls-only", portBase + 4, "primary", clientTls: "require")),
            ["Databases"] = new JsonObject
            {
                ["*"] = new JsonObject { ["Cluster"] = Bed.Cluster },
                ["app_ro"] = new JsonObject { ["Cluster"] = Bed.Cluster, ["Database"] = "app", ["Target"] = "replica" },
                ["fake_app"] = new JsonObject { ["Cluster"] = "fake", ["Database"] = "app" },
                ["static_app"] = new JsonObject { ["Cluster"] = "static", ["Database"] = "app" },
                ["app_relay"] = new JsonObject { ["Cluster"] = Bed.Cluster, ["Database"] = "app", ["AuthMethod"] = "passthrough" },
                // One server connection for all its clients: what one client leaves on it, the next one meets.
                ["app_one"] = new JsonObject { ["Cluster"] = Bed.Cluster, ["Database"] = "app", ["Pool"] = new JsonObject { ["Size"] = 1, ["QueueTimeout"] = "00:00:02" } },
                // Few servers for many clients: every client's statements travel between server connections.
                ["app_few"] = new JsonObject { ["Cluster"] = Bed.Cluster, ["Database"] = "app", ["Pool"] = new JsonObject { ["Size"] = 3 } },
                ["app_session"] = new JsonObject { ["Cluster"] = Bed.Cluster, ["Database"] = "app", ["Pool"] = new JsonObject { ["Mode"] = "session", ["Size"] = 1 } },
            },
            ["Clusters"] = new JsonObject
            {
                [Bed.Cluster] = new JsonObject { ["Source"] = "etcd", ["Scope"] = Bed.Scope, ["MaxLagBytes"] = 1024 * 1024 },
                // Keys a test writes itself, pretending to be Patroni.
                ["fake"] = new JsonObject { ["Source"] = "etcd", ["Scope"] = "fake" },
                ["static"] = new JsonObject { ["Source"] = "static", ["Hosts"] = new JsonArray([.. Bed.Members.Select(m => (JsonNode)$"127.0.0.1:{bed.PostgresPort(m)}")]) },
            },
            // A dead endpoint first: every (re)connect has to move on to the next one.
            ["Etcd"] = new JsonObject { ["Endpoints"] = new JsonArray("http://127.0.0.1:9", bed.EtcdUrl), ["Namespace"] = Bed.Namespace },
            ["Monitor"] = new JsonObject { ["User"] = "pgrouter_monitor", ["Password"] = "monitor" },
            ["Connections"] = new JsonObject { ["StartupTimeout"] = "00:00:10", ["PauseTimeout"] = "00:00:15" },
            // SCRAM secrets only: app from the users file, everybody else through the auth query.
            ["Auth"] = new JsonObject
            {
                ["Method"] = "scram-sha-256",
                ["UsersFile"] = bed.File("userlist.txt"),
                ["AuthQuery"] = new JsonObject { ["User"] = "pgrouter_auth", ["Password"] = "auth", ["Query"] = "SELECT rolname, rolpassword FROM pgrouter.get_auth($1)" },
                ["MaxFailures"] = 1000,
            },
            ["Tls"] = new JsonObject { ["CertificateFile"] = bed.File("tls/server.crt"), ["KeyFile"] = bed.File("tls/server.key"), ["ClientCaFile"] = bed.File("tls/ca.crt") },
            ["ServerTls"] = new JsonObject { ["Mode"] = "verify-full", ["CaFile"] = bed.File("tls/ca.crt") },
            ["Admin"] = new JsonObject { ["Urls"] = $"http://127.0.0.1:{portBase + 9}" },
        },
    };

    private static JsonObject Listener(string name, int port, string target, string balance = "round-robin", string clientTls = "allow") => new()
    {
        ["Name"] = name,
        ["Address"] = "127.0.0.1",
        ["Port"] = port,
        ["Target"] = target,
        ["Balance"] = balance,
        ["ClientTls"] = clientTls,
    };

    public static string ConnectionString(int port, string database = "app", string user = "app", string password = "app", string? options = null) =>
        $"Host=127.0.0.1;Port={port};Username={user};Password={password};Database={database};Pooling=false;Timeout=20;Command Timeout=60;Include Error Detail=true"
        + (options is null ? "" : $";Options={options}");

    /// <summary>The pools PgRouter holds (GET /pools).</summary>
    public async Task<JsonArray> PoolsAsync() => (await Http.GetFromJsonAsync<JsonArray>($"http://127.0.0.1:{AdminPort}/pools"))!;

    /// <summary>Server connections open in the pools of a database, whatever the member.</summary>
    public async Task<int> ServerConnectionsAsync(string database) =>
        (await PoolsAsync()).Where(p => p!["database"]!.GetValue<string>() == database).Sum(p => p!["total"]!.GetValue<int>());

    /// <summary>The most server connections any single pool of the database holds now.</summary>
    public async Task<int> LargestPoolAsync(string database) =>
        (await PoolsAsync()).Where(p => p!["database"]!.GetValue<string>() == database).Select(p => p!["total"]!.GetValue<int>()).DefaultIfEmpty(0).Max();

    /// <summary>What PgRouter believes about a cluster (GET /clusters/NAME), or null if it does not answer.</summary>
    public async Task<JsonNode?> ClusterAsync(string name)
    {
        try
        {
            return await Http.GetFromJsonAsync<JsonNode>($"http://127.0.0.1:{AdminPort}/clusters/{name}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>Waits until the cluster has a confirmed primary and <paramref name="readable"/> replicas that take reads.</summary>
    public Task WaitForSteadyAsync(string cluster = Bed.Cluster, int readable = 2, TimeSpan? timeout = null) =>
        Poll.UntilAsync(async () =>
        {
            var topology = await ClusterAsync(cluster);
            return topology?["primaryStatus"]?.GetValue<string>() == "confirmed"
                && topology["stale"]!.GetValue<bool>() == false
                && topology["members"]!.AsArray().Count(m => m!["takesReads"]!.GetValue<bool>()) == readable;
        }, timeout ?? TimeSpan.FromSeconds(60), $"cluster {cluster} to have a primary and {readable} readable replicas");

    public async Task SignalAsync(string signal)
    {
        var result = await Commands.RunAsync("kill", [$"-{signal}", _process.Id.ToString()], TimeSpan.FromSeconds(5));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} failed: {result.Output}");
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(deadline.Token);
        return _process.ExitCode;
    }

    /// <summary>Runs `pgrouter VERB ...` with this instance's configuration file, as an operator would.</summary>
    public Task<CommandResult> CommandAsync(params string[] arguments) =>
        Commands.RunAsync("dotnet", [_executable, .. arguments, "--config", _configFile], TimeSpan.FromMinutes(2));

    public LogLine? FindLog(Func<string, bool> match) => _log.FirstOrDefault(line => match(line.Text));

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        lock (_logFile)
        {
            _logFile.Dispose();
        }
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }
        var time = line.Length > 24 && DateTime.TryParseExact(line[..24], "yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var stamped)
            ? stamped
            : DateTime.UtcNow;
        _log.Enqueue(new LogLine(time, line));
        lock (_logFile)
        {
            _logFile.WriteLine(line);
        }
    }
}
