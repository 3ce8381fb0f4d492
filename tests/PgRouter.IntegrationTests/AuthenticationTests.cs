using Npgsql;
using PgRouter.IntegrationTests.Support;
using Xunit;

namespace PgRouter.IntegrationTests;

/// <summary>
/// PgRouter checks clients itself with SCRAM, against secrets from the users file (app) or the auth
/// query (report), with and without TLS, and logs in to the servers (over TLS, verify-full) with the
/// keys recovered from the client's proof. No configuration holds app's or report's password, and
/// pg_hba has no trust rule: the recovered keys are the only way in.
/// </summary>
[Collection(BedCollection.Name)]
public sealed class AuthenticationTests(BedFixture bed)
{
    private Clients Clients => new(bed.RepositoryRoot, bed.Bed.File("tls/ca.crt"));

    public static TheoryData<string, string, bool> Logins()
    {
        var data = new TheoryData<string, string, bool>();
        foreach (string client in new[] { Clients.Psql, Clients.Pgbench, Clients.Psycopg2, Clients.Jdbc, Clients.Npgsql })
        {
            foreach (string user in new[] { "app", "report" })
            {
                data.Add(client, user, false);
                data.Add(client, user, true);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Logins))]
    public async Task RealClient_LogsInWithScram_AndPgRouterReachesTheServerOverTls(string client, string user, bool tls)
    {
        await bed.Router.WaitForSteadyAsync();

        string row = await Clients.QueryAsync(client, bed.Router.ReadWritePort, user, password: user, tls);

        Assert.Equal(client == Clients.Pgbench ? "ok" : $"{user}|t", row);
        Assert.NotNull(bed.Router.FindLog(l => l.Contains($"user={user} database=app -> cluster demo") && l.Contains($"server login: {user} (SCRAM keys)")));
    }

    [Fact]
    public void UsersFile_HoldsNoPassword()
    {
        string line = File.ReadAllText(bed.Bed.File("userlist.txt")).Trim();

        Assert.StartsWith("\"app\" \"SCRAM-SHA-256$4096:", line);
        Assert.DoesNotContain("\"app\" \"app\"", line);
    }

    [Theory]
    [InlineData("app", "wrong")]
    [InlineData("ghost", "app")]
    [InlineData("report", "app")]
    public async Task WrongPasswordOrUnknownUser_SameFatal28P01_NoServerConnection(string user, string password)
    {
        int sessionsBefore = bed.Router.Log.Count(l => l.Text.Contains("-> cluster demo"));

        var error = await Assert.ThrowsAsync<PostgresException>(() => Landing.OfAsync(PgRouterProcess.ConnectionString(bed.Router.ReadWritePort, user: user, password: password)));

        Assert.Equal("28P01", error.SqlState);
        Assert.Equal("FATAL", error.InvariantSeverity);
        Assert.Equal($"password authentication failed for user \"{user}\"", error.MessageText);
        await Poll.UntilAsync(() => bed.Router.FindLog(l => l.Contains($"authentication of user {user} failed")) is not null, TimeSpan.FromSeconds(5), "the failure to be logged");
        Assert.Equal(sessionsBefore, bed.Router.Log.Count(l => l.Text.Contains("-> cluster demo")));
    }

    [Fact]
    public async Task RequireListener_RefusesPlaintextWith28000()
    {
        var builder = new NpgsqlConnectionStringBuilder(PgRouterProcess.ConnectionString(bed.Router.TlsOnlyPort)) { SslMode = SslMode.Disable };

        var error = await Assert.ThrowsAsync<PostgresException>(() => Landing.OfAsync(builder.ConnectionString));

        Assert.Equal("28000", error.SqlState);
        Assert.Equal("listener tls-only requires TLS", error.MessageText);
        Assert.Equal("app|t", await Clients.QueryAsync(Clients.Psql, bed.Router.TlsOnlyPort, "app", "app", tls: true));
    }

    [Fact]
    public async Task PassthroughDatabase_TheServerChecksTheClient()
    {
        await bed.Router.WaitForSteadyAsync();

        var landing = await Landing.OfAsync(PgRouterProcess.ConnectionString(bed.Router.ReadWritePort, database: "app_relay"));

        Assert.False(landing.InRecovery);
        Assert.NotNull(bed.Router.FindLog(l => l.Contains("database=app_relay -> cluster demo") && l.Contains("server login: passthrough")));
    }
}
