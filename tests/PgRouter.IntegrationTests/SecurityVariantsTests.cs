using System.Text.Json.Nodes;
using Npgsql;
using PgRouter.IntegrationTests.Support;
using Xunit;

namespace PgRouter.IntegrationTests;

/// <summary>
/// The other methods and the operator's side of security, each on a PgRouter of its own: client
/// certificates, md5 and cleartext passwords, the failed-login limit, reloading the users file and
/// the certificate, and a server certificate that does not chain to the configured CA.
/// </summary>
[Collection(BedCollection.Name)]
public sealed class SecurityVariantsTests(BedFixture bed) : IAsyncLifetime
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "pgrouter-itest-security");
    private readonly List<PgRouterProcess> _routers = [];

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_work);
        return Task.CompletedTask;
    }

    // The work directory stays behind with each PgRouter's log, for whoever has to find out why a test failed.

    public async Task DisposeAsync()
    {
        foreach (var router in _routers)
        {
            await router.DisposeAsync();
        }
    }

    private Clients Clients => new(bed.RepositoryRoot, bed.Bed.File("tls/ca.crt"));

    private async Task<PgRouterProcess> StartAsync(int portBase, Action<JsonNode> configure)
    {
        var configuration = PgRouterProcess.Configuration(bed.Bed, portBase);
        var router = configuration["PgRouter"]!;
        router["Clusters"] = new JsonObject { [Bed.Cluster] = router["Clusters"]![Bed.Cluster]!.DeepClone() };
        router["Databases"] = new JsonObject { ["*"] = new JsonObject { ["Cluster"] = Bed.Cluster } };
        configure(router);
        var process = await PgRouterProcess.StartAsync(bed.RepositoryRoot, configuration, portBase, Path.Combine(_work, $"router-{portBase}"));
        _routers.Add(process);
        return process;
    }

    private string PrivateCopy(string file)
    {
        // libpq wants a private key that only its owner can read.
        string copy = Path.Combine(_work, Path.GetFileName(file));
        File.Copy(file, copy, overwrite: true);
        File.SetUnixFileMode(copy, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return copy;
    }

    [Fact]
    public async Task ClientCertificate_CommonNameIsTheUser()
    {
        await bed.Router.WaitForSteadyAsync();
        var router = await StartAsync(13400, r =>
        {
            r["Databases"]!["app_cert"] = new JsonObject { ["Cluster"] = Bed.Cluster, ["Database"] = "app", ["AuthMethod"] = "cert" };
            // A certificate proves nothing PgRouter can reuse: the operator gives app's server password.
            r["Auth"]!["ServerUsers"] = new JsonObject { ["app"] = new JsonObject { ["Password"] = "app" } };
        });
        string key = PrivateCopy(bed.Bed.File("tls/client.key"));
        string Conninfo(string user, bool withCertificate) =>
            $"host=127.0.0.1 port={router.TlsOnlyPort} dbname=app_cert user={user} sslmode=verify-full sslrootcert={bed.Bed.File("tls/ca.crt")}"
            + (withCertificate ? $" sslcert={bed.Bed.File("tls/client.crt")} sslkey={key}" : " sslcert=/nonexistent");

        var good = await Commands.RunAsync("psql", [Conninfo("app", true), "-XAtc", "select current_user"], TimeSpan.FromSeconds(30));
        var otherUser = await Commands.RunAsync("psql", [Conninfo("report", true), "-XAtc", "select 1"], TimeSpan.FromSeconds(30));
        var noCertificate = await Commands.RunAsync("psql", [Conninfo("app", false), "-XAtc", "select 1"], TimeSpan.FromSeconds(30));

        Assert.Equal("app", good.Stdout.Trim());
        Assert.NotNull(router.FindLog(l => l.Contains("database=app_cert -> cluster demo") && l.Contains("server login: app (password)")));
        Assert.Contains("certificate authentication failed for user \"report\"", otherUser.Stderr);
        Assert.Contains("connection requires a valid client certificate", noCertificate.Stderr);
    }

    [Fact]
    public async Task Md5AndPasswordMethods_WithPlainAndMd5Secrets()
    {
        string users = Path.Combine(_work, "users.txt");
        // report: plain text (any method works, and so does its server login); app: an md5 hash.
        await File.WriteAllTextAsync(users, "\"report\" \"report\"\n\"app\" \"md5" + Md5Hex("appapp") + "\"\n");
        var router = await StartAsync(13410, r =>
        {
            r["Auth"] = new JsonObject { ["Method"] = "md5", ["UsersFile"] = users };
            r["Listeners"]!.AsArray()[4]!["AuthMethod"] = "password";
        });

        Assert.Equal("report|t", await Clients.QueryAsync(Clients.Psql, router.ReadWritePort, "report", "report", tls: false));
        Assert.Equal("report|t", await Clients.QueryAsync(Clients.Jdbc, router.TlsOnlyPort, "report", "report", tls: true));
        Assert.NotNull(router.FindLog(l => l.Contains("user=report") && l.Contains("server login: report (password")));

        // md5 proves app to PgRouter, but a SCRAM server needs more than an md5 hash: a clear error.
        var error = await Assert.ThrowsAsync<PostgresException>(() => Landing.OfAsync(PgRouterProcess.ConnectionString(router.ReadWritePort)));
        Assert.Equal("08004", error.SqlState);
        Assert.Contains("the server asks for SCRAM and PgRouter holds no password or SCRAM keys for app", error.MessageText);
    }

    [Fact]
    public async Task FailedLogins_OverTheLimit_RefuseTheAddressEvenWithTheRightPassword()
    {
        var router = await StartAsync(13420, r => r["Auth"]!["MaxFailures"] = 2);
        // psql with sslmode=require makes one attempt per login (with prefer, libpq tries again without TLS).
        Task<CommandResult> Login(string password) => Commands.RunAsync("psql",
            [$"host=127.0.0.1 port={router.ReadWritePort} user=app dbname=app sslmode=require", "-XAtc", "select 1"], TimeSpan.FromSeconds(30),
            new Dictionary<string, string> { ["PGPASSWORD"] = password });
        foreach (string wrong in new[] { "wrong1", "wrong2" })
        {
            Assert.Contains("password authentication failed for user \"app\"", (await Login(wrong)).Stderr);
        }

        var refused = await Assert.ThrowsAsync<PostgresException>(() => Landing.OfAsync(PgRouterProcess.ConnectionString(router.ReadWritePort)));
        Assert.Contains("too many failed logins from 127.0.0.1", (await Login("app")).Stderr);
        Assert.Equal("28P01", refused.SqlState);
        Assert.Equal("too many failed logins from 127.0.0.1", refused.MessageText);
    }

    [Fact]
    public async Task UsersFileAndCertificate_AreReloadedWhenTheyChange()
    {
        string users = Path.Combine(_work, "reload-users.txt");
        File.Copy(bed.Bed.File("userlist.txt"), users, overwrite: true);
        string certificate = Path.Combine(_work, "server.crt"), key = Path.Combine(_work, "server.key");
        File.Copy(bed.Bed.File("tls/server.crt"), certificate, overwrite: true);
        File.Copy(bed.Bed.File("tls/server.key"), key, overwrite: true);
        var router = await StartAsync(13430, r =>
        {
            r["Auth"] = new JsonObject { ["UsersFile"] = users, ["MaxFailures"] = 0 };
            r["Tls"]!["CertificateFile"] = certificate;
            r["Tls"]!["KeyFile"] = key;
        });
        var report = () => Landing.OfAsync(PgRouterProcess.ConnectionString(router.ReadWritePort, user: "report", password: "report"));
        Assert.Equal("28P01", (await Assert.ThrowsAsync<PostgresException>(report)).SqlState);

        string secret = (string)(await Bed.ScalarAsync(Bed.Superuser((await bed.Bed.LeaderAsync()).Port), "select rolpassword from pg_authid where rolname = 'report'"))!;
        await File.AppendAllTextAsync(users, $"\"report\" \"{secret}\"\n");
        string ca = Path.Combine(_work, "renewal-ca");
        Directory.CreateDirectory(ca);
        File.Copy(bed.Bed.File("tls/ca.crt"), Path.Combine(ca, "ca.crt"), overwrite: true);
        File.Copy(bed.Bed.File("tls/ca.key"), Path.Combine(ca, "ca.key"), overwrite: true);
        await Certificates.IssueAsync(ca, _work, "renewed", "/CN=renewed.127.0.0.1", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth");
        File.Copy(Path.Combine(_work, "renewed.key"), key, overwrite: true);
        File.Copy(Path.Combine(_work, "renewed.crt"), certificate, overwrite: true);

        await Poll.UntilAsync(async () =>
        {
            try
            {
                return !(await report()).InRecovery;
            }
            catch (PostgresException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(15), "report to be known after the users file changed");
        await Poll.UntilAsync(async () =>
        {
            await using var client = await RawClient.ConnectAsync(router.ReadWritePort);
            await client.StartTlsAsync(alpn: "postgresql");
            return client.ServerCertificate!.Subject == "CN=renewed.127.0.0.1";
        }, TimeSpan.FromSeconds(15), "the renewed certificate to be presented");
        Assert.NotNull(router.FindLog(l => l.Contains("TLS certificate") && l.Contains("CN=renewed.127.0.0.1")));
    }

    [Fact]
    public async Task ServerCertificateFromAnotherCa_FailsTheLoginWithAClearMessage()
    {
        string other = Path.Combine(_work, "other-ca");
        await Certificates.CreateCaAsync(other, "Somebody else's CA");
        var router = await StartAsync(13440, r => r["ServerTls"]!["CaFile"] = Path.Combine(other, "ca.crt"));

        var error = await Assert.ThrowsAsync<PostgresException>(() => Landing.OfAsync(PgRouterProcess.ConnectionString(router.ReadWritePort)));

        Assert.Equal("08004", error.SqlState);
        Assert.Contains("does not chain to ServerTls:CaFile", error.MessageText + error.Detail);
    }

    private static string Md5Hex(string text) =>
        Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
}
