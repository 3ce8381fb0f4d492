using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using PgRouter.Protocol;
using PgRouter.Protocol.Authentication;

namespace PgRouter.IntegrationTests.Support;

internal sealed record RawMessage(char Type, byte[] Body)
{
    /// <summary>The SQLSTATE of an ErrorResponse.</summary>
    public string? SqlState => Field('C');

    public string? Message => Field('M');

    /// <summary>The message in a few characters, as <see cref="RawClient.ExchangeAsync"/> lists them.</summary>
    public string Describe() => Type switch
    {
        'E' => $"E[{SqlState} {Message}]",
        'Z' => $"Z[{(char)Body[0]}]",
        'C' => $"C[{Encoding.UTF8.GetString(Body, 0, Body.Length - 1)}]",
        'T' => $"T[{string.Join(',', Columns())}]",
        'D' => $"D[{string.Join(',', Values())}]",
        _ => Type.ToString(),
    };

    private IEnumerable<string> Columns()
    {
        int count = BinaryPrimitives.ReadInt16BigEndian(Body);
        int offset = 2;
        for (int i = 0; i < count; i++)
        {
            int end = Array.IndexOf(Body, (byte)0, offset);
            yield return Encoding.UTF8.GetString(Body, offset, end - offset);
            offset = end + 1 + 18;
        }
    }

    private IEnumerable<string> Values()
    {
        int count = BinaryPrimitives.ReadInt16BigEndian(Body);
        int offset = 2;
        for (int i = 0; i < count; i++)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(Body.AsSpan(offset));
            offset += 4;
            yield return length < 0 ? "NULL" : Encoding.UTF8.GetString(Body, offset, length);
            offset += Math.Max(length, 0);
        }
    }

    private string? Field(char code)
    {
        if (Type != 'E')
        {
            return null;
        }
        int offset = 0;
        while (offset < Body.Length && Body[offset] != 0)
        {
            int end = Array.IndexOf(Body, (byte)0, offset + 1);
            if (Body[offset] == code)
            {
                return Encoding.UTF8.GetString(Body, offset + 1, end - offset - 1);
            }
            offset = end + 1;
        }
        return null;
    }
}

/// <summary>A client that speaks the protocol byte by byte, to send what no driver would.</summary>
internal sealed class RawClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private Stream _stream;

    private RawClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>The certificate PgRouter presented, once TLS is on.</summary>
    public X509Certificate2? ServerCertificate { get; private set; }

    /// <summary>Switches to TLS (after 'S', or at once for PostgreSQL 17's direct TLS with ALPN "postgresql").</summary>
    public async Task StartTlsAsync(string? alpn = null)
    {
        var tls = new SslStream(_stream, leaveInnerStreamOpen: false);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
            ApplicationProtocols = alpn is null ? null : [new SslApplicationProtocol(alpn)],
        });
        ServerCertificate = tls.RemoteCertificate as X509Certificate2;
        _stream = tls;
    }

    public static async Task<RawClient> ConnectAsync(int port)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync("127.0.0.1", port);
        return new RawClient(socket);
    }

    public async Task SendAsync(params byte[][] parts)
    {
        foreach (byte[] part in parts)
        {
            await _stream.WriteAsync(part);
        }
    }

    public async Task<int> ReadByteAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        byte[] one = new byte[1];
        return await _stream.ReadAsync(one, deadline.Token) == 0 ? -1 : one[0];
    }

    /// <summary>The next message, or null when PgRouter closed the connection.</summary>
    public async Task<RawMessage?> ReadAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        byte[] header = new byte[5];
        if (!await ReadExactlyAsync(header, deadline.Token))
        {
            return null;
        }
        byte[] body = new byte[BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1)) - 4];
        return await ReadExactlyAsync(body, deadline.Token) ? new RawMessage((char)header[0], body) : null;
    }

    /// <summary>
    /// Sends the messages and reads the answers up to ReadyForQuery, written compactly for comparison:
    /// "1 2 T[a,b] D[1,x] C[SELECT 1] Z[I]", errors as "E[SQLSTATE message]", nothing after a close.
    /// </summary>
    public async Task<string> ExchangeAsync(params byte[][] messages)
    {
        await SendAsync(messages);
        var answers = new List<string>();
        while (await ReadAsync(TimeSpan.FromSeconds(30)) is { } message)
        {
            answers.Add(message.Describe());
            if (message.Type == 'Z')
            {
                break;
            }
        }
        return string.Join(' ', answers);
    }

    /// <summary>True when the peer closed: the read ends with no more bytes.</summary>
    public async Task<bool> ClosedAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            return await _stream.ReadAsync(new byte[256], deadline.Token) == 0;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>Logs in with SCRAM-SHA-256 and reads up to ReadyForQuery; returns every message received.</summary>
    public async Task<List<RawMessage>> LoginAsync(string user, string password, string database, int protocolVersion = StartupCodes.ProtocolVersion30, params (string Name, string Value)[] extra)
    {
        var parameters = new StartupParameters();
        parameters.Set("user", user);
        parameters.Set("database", database);
        foreach (var (name, value) in extra)
        {
            parameters.Set(name, value);
        }
        byte[] startup = FrontendMessages.StartupMessage(parameters);
        BinaryPrimitives.WriteInt32BigEndian(startup.AsSpan(4), protocolVersion);
        await SendAsync(startup);

        var received = new List<RawMessage>();
        ScramSha256Client? scram = null;
        while (await ReadAsync(TimeSpan.FromSeconds(20)) is { } message)
        {
            received.Add(message);
            if (message.Type is 'Z' or 'E')
            {
                return received;
            }
            if (message.Type != 'R')
            {
                continue;
            }
            switch (BinaryPrimitives.ReadInt32BigEndian(message.Body))
            {
                case AuthenticationCode.Sasl:
                    scram = new ScramSha256Client(password);
                    await SendAsync(FrontendMessages.SaslInitialResponse(ScramSha256Client.Mechanism, scram.ClientFirstMessage()));
                    break;
                case AuthenticationCode.SaslContinue:
                    scram!.TryCreateClientFinalMessage(Encoding.UTF8.GetString(message.Body, 4, message.Body.Length - 4), out byte[] final, out _);
                    await SendAsync(FrontendMessages.Password(final));
                    break;
            }
        }
        return received;
    }

    private async Task<bool> ReadExactlyAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        try
        {
            await _stream.ReadExactlyAsync(buffer, cancellationToken);
            return true;
        }
        catch (Exception e) when (e is EndOfStreamException or IOException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _socket.Dispose();
    }
}
