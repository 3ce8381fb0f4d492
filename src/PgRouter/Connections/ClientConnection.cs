using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using PgRouter.Protocol;

namespace PgRouter.Connections;

/// <summary>
/// The client side of a session: its socket, the startup handshake, and the one place where
/// PgRouter's own messages to the client are written.
/// </summary>
internal sealed partial class ClientConnection(SocketTransport transport, string listener, ILogger logger) : IAsyncDisposable
{
    private static readonly TimeSpan CloseLinger = TimeSpan.FromSeconds(2);

    public SocketTransport Transport => transport;

    public PipeReader Input => transport.Input;

    public string Address => transport.RemoteAddress;

    /// <summary>
    /// Reads packets until a StartupMessage or CancelRequest, answering SSLRequest and
    /// GSSENCRequest with 'N' on the way; anything else gets a FATAL ErrorResponse.
    /// </summary>
    public async Task<ClientStartup> ReadStartupAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        bool sslAnswered = false, gssAnswered = false;
        try
        {
            while (true)
            {
                var result = await Input.ReadAsync(deadline.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                var reader = new SequenceReader<byte>(buffer);
                if (!StartupPacket.TryRead(ref reader, out var packet, out var error))
                {
                    if (error is not null)
                    {
                        Input.AdvanceTo(buffer.Start, buffer.End);
                        return await RefuseAsync(error).ConfigureAwait(false);
                    }
                    if (result.IsCompleted)
                    {
                        if (buffer.Length > 0)
                        {
                            LogIncompleteStartup(Address, buffer.Length);
                        }
                        Input.AdvanceTo(buffer.End);
                        return ClientStartup.Closed;
                    }
                    Input.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                }

                bool moreBuffered = reader.Remaining > 0;
                Input.AdvanceTo(reader.Position);
                switch (packet!.Kind)
                {
                    case StartupPacketKind.SslRequest when !sslAnswered:
                    case StartupPacketKind.GssEncRequest when !gssAnswered:
                        if (moreBuffered)
                        {
                            // The client must wait for our answer; data behind the request could be a spoofing attempt.
                            return await RefuseAsync(new PgError(SqlState.ProtocolViolation, "received unencrypted data after SSL request")).ConfigureAwait(false);
                        }
                        sslAnswered |= packet.Kind == StartupPacketKind.SslRequest;
                        gssAnswered |= packet.Kind == StartupPacketKind.GssEncRequest;
                        if (!await transport.SendAsync(BackendMessages.EncryptionRefused).ConfigureAwait(false))
                        {
                            return ClientStartup.Closed;
                        }
                        continue;
                    case StartupPacketKind.SslRequest or StartupPacketKind.GssEncRequest:
                        return await RefuseAsync(new PgError(SqlState.ProtocolViolation, "duplicate encryption request")).ConfigureAwait(false);
                    case StartupPacketKind.CancelRequest:
                        return new ClientStartup(ClientStartupOutcome.Cancel, packet);
                    default:
                        return new ClientStartup(ClientStartupOutcome.Startup, packet);
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return await RefuseAsync(new PgError(SqlState.ProtocolViolation, $"startup packet not received within {timeout.TotalSeconds:0.#} s")).ConfigureAwait(false);
        }
    }

    /// <summary>Sends a FATAL error, logs why, and closes: the client cannot go on.</summary>
    public async Task<ClientStartup> RefuseAsync(PgError error, string? user = null, string? database = null)
    {
        LogRefused(Address, listener, user ?? "-", database ?? "-", error.SqlState, error.Message, error.Detail ?? "");
        await SendFatalAsync(error).ConfigureAwait(false);
        return ClientStartup.Closed;
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

    [LoggerMessage(101, LogLevel.Information, "client {Client} closed the connection after {Bytes} bytes of an incomplete startup packet")]
    private partial void LogIncompleteStartup(string client, long bytes);
}
