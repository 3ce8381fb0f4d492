using System.Buffers.Binary;
using Npgsql;
using PgRouter.IntegrationTests.Support;
using PgRouter.Protocol;
using Xunit;

namespace PgRouter.IntegrationTests;

/// <summary>
/// Bad input of any kind gets a FATAL ErrorResponse with the right SQLSTATE and a closed connection,
/// and does nothing to anybody else: a client runs queries throughout and must see no error.
/// </summary>
[Collection(BedCollection.Name)]
public sealed class ProtocolTests(BedFixture bed) : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly CancellationTokenSource _stopBystander = new();
    private Task<int> _bystander = Task.FromResult(0);

    public async Task InitializeAsync()
    {
        await bed.Router.WaitForSteadyAsync();
        var connection = new NpgsqlConnection(PgRouterProcess.ConnectionString(bed.Router.ReadWritePort));
        await connection.OpenAsync();
        _bystander = Task.Run(async () =>
        {
            await using (connection)
            {
                int queries = 0;
                while (!_stopBystander.IsCancellationRequested)
                {
                    await using var command = new NpgsqlCommand("select count(*) from pg_class", connection);
                    await command.ExecuteScalarAsync();
                    queries++;
                }
                return queries;
            }
        });
    }

    public async Task DisposeAsync()
    {
        await _stopBystander.CancelAsync();
        Assert.True(await _bystander > 0);
    }

    private static byte[] Int32(int value)
    {
        byte[] bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }

    private async Task AssertRefusedAsync(RawClient client, string sqlState, string messageStart, TimeSpan? wait = null)
    {
        var error = await client.ReadAsync(wait ?? Wait);
        Assert.NotNull(error);
        Assert.Equal('E', error.Type);
        Assert.Equal(sqlState, error.SqlState);
        Assert.StartsWith(messageStart, error.Message);
        Assert.True(await client.ClosedAsync(Wait));
    }

    [Fact]
    public async Task HttpRequestInsteadOfStartup_IsRefusedWithProtocolViolation()
    {
        await using var client = await RawClient.ConnectAsync(bed.Router.ReadWritePort);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: pgrouter\r\n\r\n"u8.ToArray());

        await AssertRefusedAsync(client, "08P01", "invalid length of startup packet");
    }

    [Fact]
    public async Task OldProtocolVersion_IsRefusedAsUnsupported()
    {
        await using var client = await RawClient.ConnectAsync(bed.Router.ReadWritePort);
        await client.SendAsync(Int32(8), Int32(2 << 16));

        await AssertRefusedAsync(client, "0A000", "unsupported frontend protocol 2.0");
    }

    [Fact]
    public async Task SilentClient_IsRefusedWhenTheStartupTimeoutExpires()
    {
        await using var client = await RawClient.ConnectAsync(bed.Router.ReadWritePort);
        await client.SendAsync(Int32(100), [1, 2, 3]);

        await AssertRefusedAsync(client, "08P01", "startup packet not received within 10 s", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task GssRefusedThenSslRequest_TlsThenScramLogin()
    {
        await using var client = await RawClient.ConnectAsync(bed.Router.ReadWritePort);
        await client.SendAsync(Int32(8), Int32(StartupCodes.GssEncRequest));
        Assert.Equal('N', await client.ReadByteAsync(Wait));
        await client.SendAsync(Int32(8), Int32(StartupCodes.SslRequest));
        Assert.Equal('S', await client.ReadByteAsync(Wait));
        await client.StartTlsAsync();

        var login = await client.LoginAsync("app", "app", "app");

        Assert.Equal("CN=127.0.0.1", client.ServerCertificate!.Subject);
        Assert.Equal("SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0", System.Text.Encoding.ASCII.GetString(login[0].Body, 4, login[0].Body.Length - 4));
        Assert.Equal('Z', login[^1].Type);
    }

    [Fact]
    public async Task DirectTlsWithAlpn_LogsInLikePostgreSql17()
    {
        await using var client = await RawClient.ConnectAsync(bed.Router.ReadWritePort);
        await client.StartTlsAsync(alpn: "postgresql");

        Assert.Equal('Z', (await client.LoginAsync("app", "app", "app"))[^1].Type);
    }

    [Fact]
    public async Task DirectTlsWithoutAlpn_IsClosed()
    {
        await using var client = await RawClient.ConnectAsync(bed.Router.ReadWritePort);
        await client.StartTlsAsync();

        Assert.True(await client.ClosedAsync(Wait));
    }

    [Fact]
    public async Task MalformedSaslInitialResponse_IsAFatalProtocolViolation()
    {
        await using var client = await RawClient.ConnectAsync(bed.Router.ReadWritePort);
        var parameters = new StartupParameters();
        parameters.Set("user", "app");
        parameters.Set("database", "app");
        await client.SendAsync(FrontendMessages.StartupMessage(parameters));
        Assert.Equal('R', (await client.ReadAsync(Wait))!.Type);

        // The data length says 9 bytes; 3 follow.
        await client.SendAsync(FrontendMessages.Password([.. "SCRAM-SHA-256\0"u8.ToArray(), .. Int32(9), .. "abc"u8.ToArray()]));

        await AssertRefusedAsync(client, "08P01", "malformed SASLInitialResponse message");
    }

    [Fact]
    public async Task SomethingElseThanAPasswordDuringAuthentication_IsAFatalProtocolViolation()
    {
        await using var client = await RawClient.ConnectAsync(bed.Router.ReadWritePort);
        var parameters = new StartupParameters();
        parameters.Set("user", "app");
        await client.SendAsync(FrontendMessages.StartupMessage(parameters));
        Assert.Equal('R', (await client.ReadAsync(Wait))!.Type);

        await client.SendAsync(FrontendMessages.Query("select 1"));

        await AssertRefusedAsync(client, "08P01", "expected password response, got message type 81");
    }

    [Fact]
    public async Task DataBehindSslRequest_IsRefused()
    {
        await using var client = await RawClient.ConnectAsync(bed.Router.ReadWritePort);
        // One write, so that both arrive before PgRouter answers the SSLRequest.
        await client.SendAsync([.. Int32(8), .. Int32(StartupCodes.SslRequest), .. Int32(8), .. Int32(StartupCodes.ProtocolVersion30)]);

        await AssertRefusedAsync(client, "08P01", "received unencrypted data after SSL request");
    }

    [Fact]
    public async Task NewerMinorVersionAndProtocolOptions_AreNegotiatedDownTo30()
    {
        await using var client = await RawClient.ConnectAsync(bed.Router.ReadWritePort);

        var login = await client.LoginAsync("app", "app", "app", (3 << 16) | 2, ("_pq_.future_feature", "on"));

        var negotiate = login[0];
        Assert.Equal('v', negotiate.Type);
        Assert.Equal(StartupCodes.ProtocolVersion30, BinaryPrimitives.ReadInt32BigEndian(negotiate.Body));
        Assert.Equal(1, BinaryPrimitives.ReadInt32BigEndian(negotiate.Body.AsSpan(4)));
        Assert.Equal("_pq_.future_feature\0"u8.ToArray(), negotiate.Body[8..]);
        Assert.Equal('Z', login[^1].Type);
    }

    [Fact]
    public async Task BackendKeyData_IsPgRoutersOwnNotTheServers()
    {
        await using var client = await RawClient.ConnectAsync(bed.Router.ReadWritePort);
        var login = await client.LoginAsync("app", "app", "app");
        int processId = BinaryPrimitives.ReadInt32BigEndian(login.Single(m => m.Type == 'K').Body);

        await client.SendAsync(FrontendMessages.Query("select pg_backend_pid()"));
        var row = await ReadUntilAsync(client, 'D');
        int serverPid = int.Parse(System.Text.Encoding.ASCII.GetString(row.Body, 6, row.Body.Length - 6));

        Assert.True(processId > 0);
        Assert.NotEqual(serverPid, processId);
    }

    [Fact]
    public async Task InvalidMessageTypeMidSession_IsAFatalProtocolViolation()
    {
        await using var client = await RawClient.ConnectAsync(bed.Router.ReadWritePort);
        await client.LoginAsync("app", "app", "app");

        await client.SendAsync([(byte)'G', 0, 0, 0, 5, 0]);

        await AssertRefusedAsync(client, "08P01", "invalid frontend message type 71");
    }

    [Fact]
    public async Task LengthOverTheLimitMidSession_IsAFatalProtocolViolation()
    {
        await using var client = await RawClient.ConnectAsync(bed.Router.ReadWritePort);
        await client.LoginAsync("app", "app", "app");

        await client.SendAsync([(byte)'S', .. Int32(int.MaxValue)]);

        await AssertRefusedAsync(client, "08P01", "invalid message length");
    }

    [Fact]
    public async Task TruncatedMessageThenClose_OnlyEndsThatClient()
    {
        await using (var client = await RawClient.ConnectAsync(bed.Router.ReadWritePort))
        {
            await client.LoginAsync("app", "app", "app");
            await client.SendAsync([(byte)'Q', .. Int32(1000), .. "select"u8.ToArray()]);
        }

        await Poll.UntilAsync(() => bed.Router.Log.Any(l => l.Text.Contains("ended (ClientClosed)")), Wait, "PgRouter to log the client's end");
    }

    private static async Task<RawMessage> ReadUntilAsync(RawClient client, char type)
    {
        while (await client.ReadAsync(Wait) is { } message)
        {
            if (message.Type == type)
            {
                return message;
            }
        }
        throw new InvalidOperationException($"connection closed before a '{type}' message");
    }
}
