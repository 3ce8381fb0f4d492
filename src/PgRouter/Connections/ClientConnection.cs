using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography.X509Certificates;
using PgRouter.Protocol;
using PgRouter.Transport;

namespace PgRouter.Connections;

/// <summary>What TLS tells about a client: the channel binding of PgRouter's certificate and the client's own certificate.</summary>
internal sealed record ClientTls(byte[] ChannelBinding, X509Certificate2? ClientCertificate);

/// <summary>
/// The client side of a session once its startup packet is in: the transport (plain or TLS), and
/// the one place where PgRouter's own messages to the client are written.
/// </summary>
internal sealed partial class ClientConnection(ITransport transport, string listener, ClientTls? tls, ILogger logger) : IAsyncDisposable
{
    private static readonly TimeSpan CloseLinger = TimeSpan.FromSeconds(2);

    public ITransport Transport => transport;

    public PipeReader Input => transport.Input;

    public string Address => transport.RemoteAddress;

    /// <summary>Null when the client is not on TLS.</summary>
    public ClientTls? Tls => tls;

    /// <summary>
    /// The client's next message during authentication, which must be a PasswordMessage ('p');
    /// null when the client went away or sent something else (then it was refused).
    /// </summary>
    public async Task<byte[]?> ReadPasswordMessageAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await Input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            if (FrameHeader.TryPeek(ref reader, out var header))
            {
                if (header.Type == FrontendMessage.Terminate)
                {
                    Input.AdvanceTo(buffer.End);
                    return null;
                }
                if (header.Type != FrontendMessage.Password)
                {
                    Input.AdvanceTo(buffer.End);
                    await RefuseAsync(new PgError(SqlState.ProtocolViolation, $"expected password response, got message type {header.Type}")).ConfigureAwait(false);
                    return null;
                }
                if (header.Length < 4 || header.Length > FrontendMessageRules.AuthMessageLimit)
                {
                    Input.AdvanceTo(buffer.End);
                    await RefuseAsync(new PgError(SqlState.ProtocolViolation, $"invalid message length {header.Length} for a password response")).ConfigureAwait(false);
                    return null;
                }
                if (reader.Remaining >= header.FrameSize)
                {
                    byte[] body = buffer.Slice(FrameHeader.Size, header.BodyLength).ToArray();
                    Input.AdvanceTo(buffer.GetPosition(header.FrameSize));
                    return body;
                }
            }
            if (result.IsCompleted)
            {
                Input.AdvanceTo(buffer.End);
                return null;
            }
            Input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    public ValueTask<bool> SendAsync(ReadOnlyMemory<byte> message) => transport.SendAsync(message);

    /// <summary>Sends a FATAL error, logs why, and closes: the client cannot go on.</summary>
    public async Task RefuseAsync(PgError error, string? user = null, string? database = null)
    {
        LogRefused(Address, listener, user ?? "-", database ?? "-", error.SqlState, error.Message, error.Detail ?? "");
        await SendFatalAsync(error).ConfigureAwait(false);
    }

    public async ValueTask SendFatalAsync(PgError error)
    {
        if (await transport.SendAsync(BackendMessages.ErrorResponse(error, fatal: true)).ConfigureAwait(false))
        {
            await transport.CloseAsync(CloseLinger).ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync() => transport.DisposeAsync();

    [LoggerMessage(100, LogLevel.Warning, "client {Client} on {Listener} refused (user={User} database={Database}): {SqlState} {Message} {Detail}")]
    private partial void LogRefused(string client, string listener, string user, string database, string sqlState, string message, string detail);
}
