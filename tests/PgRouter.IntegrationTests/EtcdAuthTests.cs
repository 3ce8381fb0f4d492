using System.Diagnostics;
using System.Text.Json.Nodes;
using PgRouter.IntegrationTests.Support;
using Xunit;

namespace PgRouter.IntegrationTests;

/// <summary>
/// etcd with authentication on: PgRouter logs in with a read-only user, and logs in again when its
/// token dies (etcd restarted). A dedicated etcd, since Patroni in the bed talks to its own without a user.
/// </summary>
[Collection(BedCollection.Name)]
public sealed class EtcdAuthTests(BedFixture bed) : IAsyncLifetime
{
    private const int Port = 13390;
    private const string DataDirectory = "/tmp/pgrouter-itest-etcd-auth";
    private const string Prefix = "/service/authdemo/";
    private static readonly string Url = $"http://127.0.0.1:{Port}";
    private Process? _etcd;

    public async Task InitializeAsync()
    {
        if (Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        await StartEtcdAsync();
        foreach (string[] command in new[]
        {
            new[] { "user", "add", "root", "--new-user-password=rootpw" },
            ["user", "grant-role", "root", "root"],
            ["role", "add", "patroni-reader"],
            ["role", "grant-permission", "patroni-reader", "read", "/service/", "--prefix=true"],
            ["user", "add", "pgrouter", "--new-user-password=secret"],
            ["user", "grant-role", "pgrouter", "patroni-reader"],
            ["auth", "enable"],
        })
        {
            await EtcdctlAsync(command);
        }
    }

    public async Task DisposeAsync()
    {
        await StopEtcdAsync();
        Directory.Delete(DataDirectory, recursive: true);
    }

    private static string MemberJson(int port) =>
        $$"""{"conn_url":"postgres://127.0.0.1:{{port}}/postgres","api_url":"http://127.0.0.1:1/patroni","state":"running","role":"master","version":"3.0.2","xlog_location":1,"timeline":1}""";

    private JsonObject Configuration(int portBase, string password)
    {
        var configuration = PgRouterProcess.Configuration(bed.Bed, portBase);
        var router = configuration["PgRouter"]!;
        router["Clusters"] = new JsonObject { ["authdemo"] = new JsonObject { ["Source"] = "etcd", ["Scope"] = "authdemo" } };
        router["Databases"] = new JsonObject { ["*"] = new JsonObject { ["Cluster"] = "authdemo" } };
        router["Etcd"] = new JsonObject { ["Endpoints"] = new JsonArray(Url), ["Username"] = "pgrouter", ["Password"] = password };
        return configuration;
    }

    [Fact]
    public async Task ReadOnlyEtcdUser_DiscoversTheCluster_AndLogsInAgainAfterEtcdRestarts()
    {
        await bed.Router.WaitForSteadyAsync();
        var (leader, leaderPort) = await bed.Bed.LeaderAsync();
        int replicaPort = bed.Bed.PostgresPort(Bed.Members.First(m => m != leader));
        await EtcdctlAsync("put", Prefix + "members/a1", MemberJson(leaderPort));
        await EtcdctlAsync("put", Prefix + "members/a2", MemberJson(replicaPort).Replace("master", "replica"));
        await EtcdctlAsync("put", Prefix + "leader", "a1");

        await using var router = await PgRouterProcess.StartAsync(bed.RepositoryRoot, Configuration(13360, "secret"), 13360, "/tmp/pgrouter-itest-router-auth");
        Assert.Equal(leaderPort, (await Landing.OfAsync(PgRouterProcess.ConnectionString(router.ReadWritePort))).Port);
        Assert.NotNull(router.FindLog(l => l.Contains("authenticated as pgrouter")));

        // Simple tokens live in etcd's memory: after a restart the cached one is refused (401).
        await StopEtcdAsync();
        await Poll.UntilAsync(async () => (await router.ClusterAsync("authdemo"))!["stale"]!.GetValue<bool>(), TimeSpan.FromSeconds(10), "the topology to go stale");
        await StartEtcdAsync();
        await Poll.UntilAsync(async () => !(await router.ClusterAsync("authdemo"))!["stale"]!.GetValue<bool>(), TimeSpan.FromSeconds(30), "PgRouter to watch etcd again");

        // The fake leader moves to the replica's server, named as a new member: PgRouter must follow it.
        await EtcdctlAsync("del", Prefix + "leader");
        await EtcdctlAsync("put", Prefix + "members/a3", MemberJson(leaderPort));
        await EtcdctlAsync("put", Prefix + "leader", "a3");
        await Poll.UntilAsync(async () => (await router.ClusterAsync("authdemo"))!["leader"]?.GetValue<string>() == "a3", TimeSpan.FromSeconds(10), "PgRouter to see leader a3");
        Assert.True(router.Log.Count(l => l.Text.Contains("authenticated as pgrouter")) >= 2);
    }

    [Fact]
    public async Task WrongEtcdPassword_NoTopology_AndTheLogSaysWhy()
    {
        await using var router = await PgRouterProcess.StartAsync(bed.RepositoryRoot, Configuration(13370, "wrong"), 13370, "/tmp/pgrouter-itest-router-badauth", waitForPrimary: false);

        await Poll.UntilAsync(() => router.FindLog(l => l.Contains("authentication as pgrouter failed")) is not null, TimeSpan.FromSeconds(20), "PgRouter to log the failed etcd login");
        Assert.False((await router.ClusterAsync("authdemo"))!["hasData"]!.GetValue<bool>());
    }

    private async Task StartEtcdAsync()
    {
        var start = new ProcessStartInfo("/usr/bin/etcd")
        {
            ArgumentList =
            {
                "--name", "auth", "--data-dir", DataDirectory,
                "--listen-client-urls", Url, "--advertise-client-urls", Url,
                "--listen-peer-urls", $"http://127.0.0.1:{Port + 1}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{Port + 1}",
                "--initial-cluster", $"auth=http://127.0.0.1:{Port + 1}", "--logger", "zap", "--log-outputs", Path.Combine(Path.GetTempPath(), "pgrouter-itest-etcd-auth.log"),
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _etcd = Process.Start(start)!;
        _etcd.BeginOutputReadLine();
        _etcd.BeginErrorReadLine();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Poll.UntilAsync(async () =>
        {
            try
            {
                return (await http.GetAsync($"{Url}/version")).IsSuccessStatusCode;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(20), "the auth etcd to answer");
    }

    private async Task StopEtcdAsync()
    {
        if (_etcd is { HasExited: false })
        {
            _etcd.Kill();
            await _etcd.WaitForExitAsync();
        }
        _etcd?.Dispose();
        _etcd = null;
    }

    private static async Task EtcdctlAsync(params string[] arguments)
    {
        // Before "auth enable" the root credentials are simply ignored.
        var result = await Commands.RunAsync("etcdctl", ["--endpoints", Url, "--user", "root:rootpw", .. arguments], TimeSpan.FromSeconds(20),
            new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"etcdctl {string.Join(' ', arguments)}: {result.Output}");
        }
    }
}
