using System.Buffers;
using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using PgRouter.Protocol;
using PgRouter.Tls;
using PgRouter.Transport;
using PgRouter.Transport.Epoll;

namespace PgRouter.Connections;

/// <summary>
/// The first packets of a client connection, read exactly so that nothing is read past them:
/// GSSENCRequest (refused), SSLRequest (TLS when the listener allows it), PostgreSQL 17's direct TLS,
/// then the StartupMessage or CancelRequest. Only then does the transport start.
/// </summary>
internal sealed partial class ClientHandshake(CertificateStore certificates, ILoggerFactory loggers, ILogger<ClientHandshake> logger)
{
    /// <summary>The first byte of a TLS handshake record: a client speaking TLS at once.</summary>
    private const byte TlsHandshakeRecord = 0x16;

    /// <summary>The connection with its startup (or cancel) packet, or null when the client went away or was refused.</summary>
    /// <param name="timeout">What the deadline stands for, to tell the client.</param>
    public async Task<(ClientConnection Connection, StartupPacket Packet)?> RunAsync(
        Socket socket, ListenerPolicy listener, TimeSpan timeout, CancellationToken deadline)
    {
        string address = SocketTransport.Describe(socket.RemoteEndPoint);
        bool tlsOffered = listener.Tls != ClientTlsMode.Disable && certificates.IsConfigured;
        // Plain TCP goes on PgRouter's event loop from the first byte: once .NET's socket engine has
        // seen a socket it wakes for every message on it. TLS takes the socket back to .NET.
        var plain = Native.Supported ? EpollTransport.Adopt(socket) : null;
        plain?.Start();
        Stream stream = plain is null ? new NetworkStream(socket, ownsSocket: false) : new TransportStream(plain);

        // TLS goes to .NET's SslStream: the loop lets go of the socket; what it had received but not
        // handed out yet comes back (a direct TLS handshake starts inside it).
        async Task<byte[]> BackToDotNetAsync()
        {
            if (plain is null)
            {
                return [];
            }
            byte[] unread = await plain.DetachAsync().ConfigureAwait(false);
            plain = null;
            stream = new NetworkStream(socket, ownsSocket: false);
            return unread;
        }

        SslStream? tls = null;
        byte[]? channelBinding = null;
        bool gssAnswered = false, handedOver = false;
        byte[] header = new byte[4];
        try
        {
            while (true)
            {
                await stream.ReadExactlyAsync(header, deadline).ConfigureAwait(false);
                if (header[0] == TlsHandshakeRecord && tls is null)
                {
                    if (!tlsOffered)
                    {
                        LogDirectTlsRefused(address, listener.Name);
                        return null;
                    }
                    byte[] received = [.. header, .. await BackToDotNetAsync().ConfigureAwait(false)];
                    (tls, channelBinding) = await StartTlsAsync(new PrefixedStream(received, stream), direct: true, address, deadline).ConfigureAwait(false);
                    if (tls is null)
                    {
                        return null;
                    }
                    stream = tls;
                    continue;
                }

                int length = BinaryPrimitives.ReadInt32BigEndian(header);
                if (length < 8 || length > StartupCodes.MaxStartupPacketLength)
                {
                    await RefuseAsync(stream, address, listener, new PgError(SqlState.ProtocolViolation, "invalid length of startup packet"), deadline).ConfigureAwait(false);
                    return null;
                }
                byte[] packetBytes = new byte[length];
                header.CopyTo(packetBytes, 0);
                await stream.ReadExactlyAsync(packetBytes.AsMemory(4), deadline).ConfigureAwait(false);
                var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(packetBytes));
                if (!StartupPacket.TryRead(ref reader, out var packet, out var error))
                {
                    await RefuseAsync(stream, address, listener, error!, deadline).ConfigureAwait(false);
                    return null;
                }

                switch (packet!.Kind)
                {
                    case StartupPacketKind.SslRequest when tls is null:
                        bool early = tlsOffered && (await BackToDotNetAsync().ConfigureAwait(false)).Length > 0;
                        if (early || socket.Available > 0)
                        {
                            // The client must wait for the answer: bytes behind the request could be an injection attempt.
                            await RefuseAsync(stream, address, listener, new PgError(SqlState.ProtocolViolation, "received unencrypted data after SSL request"), deadline).ConfigureAwait(false);
                            return null;
                        }
                        await stream.WriteAsync(tlsOffered ? "S"u8.ToArray() : BackendMessages.EncryptionRefused, deadline).ConfigureAwait(false);
                        if (tlsOffered)
                        {
                            (tls, channelBinding) = await StartTlsAsync(stream, direct: false, address, deadline).ConfigureAwait(false);
                            if (tls is null)
                            {
                                return null;
                            }
                            stream = tls;
                        }
                        continue;
                    case StartupPacketKind.GssEncRequest when !gssAnswered && tls is null:
                        gssAnswered = true;
                        await stream.WriteAsync(BackendMessages.EncryptionRefused, deadline).ConfigureAwait(false);
                        continue;
                    case StartupPacketKind.SslRequest or StartupPacketKind.GssEncRequest:
                        await RefuseAsync(stream, address, listener, new PgError(SqlState.ProtocolViolation, "unexpected encryption request"), deadline).ConfigureAwait(false);
                        return null;
                    case StartupPacketKind.Startup when tls is null && listener.Tls == ClientTlsMode.Require:
                        await RefuseAsync(stream, address, listener, new PgError(SqlState.InvalidAuthorizationSpecification,
                            $"listener {listener.Name} requires TLS", Hint: "Connect with sslmode=require or stronger."), deadline).ConfigureAwait(false);
                        return null;
                }

                ITransport transport = tls is not null ? new StreamTransport(tls, socket) : plain ?? (ITransport)new SocketTransport(socket);
                transport.Start();
                var clientTls = tls is null ? null : new ClientTls(channelBinding!, tls.RemoteCertificate as X509Certificate2);
                handedOver = true;
                return (new ClientConnection(transport, listener.Name, clientTls, loggers.CreateLogger<ClientConnection>()), packet);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            await RefuseAsync(stream, address, listener, new PgError(SqlState.ProtocolViolation, $"startup packet not received within {timeout.TotalSeconds:0.#} s"), CancellationToken.None).ConfigureAwait(false);
            return null;
        }
        catch (EndOfStreamException)
        {
            LogClosedDuringStartup(address, listener.Name);
            return null;
        }
        catch (IOException e)
        {
            LogClosedDuringStartup(address, listener.Name, e.Message);
            return null;
        }
        finally
        {
            // A transport that took over owns the stream; otherwise it goes (the caller closes the socket).
            if (!handedOver || tls is null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
            if (!handedOver && plain is not null)
            {
                await plain.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task<(SslStream? Tls, byte[]? ChannelBinding)> StartTlsAsync(Stream stream, bool direct, string address, CancellationToken deadline)
    {
        var tls = new SslStream(stream, leaveInnerStreamOpen: false);
        var (options, channelBinding) = certificates.Current();
        try
        {
            await tls.AuthenticateAsServerAsync(options, deadline).ConfigureAwait(false);
        }
        catch (AuthenticationException e)
        {
            LogHandshakeFailed(address, e.InnerException?.Message ?? e.Message);
            await tls.DisposeAsync().ConfigureAwait(false);
            return (null, null);
        }
        // Direct TLS is only for clients that say so in ALPN, as PostgreSQL 17 demands.
        if (direct && tls.NegotiatedApplicationProtocol != CertificateStore.Alpn)
        {
            LogHandshakeFailed(address, "direct TLS without the \"postgresql\" ALPN protocol");
            await tls.DisposeAsync().ConfigureAwait(false);
            return (null, null);
        }
        return (tls, channelBinding);
    }

    private async Task RefuseAsync(Stream stream, string address, ListenerPolicy listener, PgError error, CancellationToken deadline)
    {
        LogRefused(address, listener.Name, error.SqlState, error.Message);
        try
        {
            await stream.WriteAsync(BackendMessages.ErrorResponse(error, fatal: true), deadline).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    [LoggerMessage(110, LogLevel.Warning, "client {Client} on {Listener} refused during startup: {SqlState} {Message}")]
    private partial void LogRefused(string client, string listener, string sqlState, string message);

    [LoggerMessage(111, LogLevel.Information, "client {Client} on {Listener} closed the connection during startup {Error}")]
    private partial void LogClosedDuringStartup(string client, string listener, string error = "");

    [LoggerMessage(112, LogLevel.Warning, "client {Client}: TLS handshake failed: {Error}")]
    private partial void LogHandshakeFailed(string client, string error);

    [LoggerMessage(113, LogLevel.Warning, "client {Client} on {Listener} started TLS directly, but the listener offers no TLS; closed")]
    private partial void LogDirectTlsRefused(string client, string listener);
}
