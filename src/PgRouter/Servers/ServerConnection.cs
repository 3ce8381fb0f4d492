using System.IO.Pipelines;
using System.Net.Sockets;
using PgRouter.Configuration;
using PgRouter.Tls;
using PgRouter.Transport;
using PgRouter.Transport.Epoll;

namespace PgRouter.Servers;

/// <summary>The server side of a session: a connection (TCP, TLS when configured) to one member of one cluster.</summary>
internal sealed class ServerConnection : IAsyncDisposable
{
    private ServerConnection(ITransport transport, string cluster, string member, string host, int port)
    {
        Transport = transport;
        Cluster = cluster;
        Member = member;
        Host = host;
        Port = port;
    }

    public ITransport Transport { get; }

    public PipeReader Input => Transport.Input;

    public string Cluster { get; }

    public string Member { get; }

    public string Host { get; }

    public int Port { get; }

    public bool IsTls => Transport is StreamTransport;

    public string Address => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    /// <summary>Opens the connection and negotiates TLS; the error says what went wrong, for logs and for the client.</summary>
    public static async Task<(ServerConnection? Connection, ConnectError? Error)> ConnectAsync(
        string cluster, string member, string host, int port, TimeSpan timeout, KeepaliveOptions keepalive, ServerTlsConnector tls)
    {
        try
        {
            using var deadline = new CancellationTokenSource(timeout);
            // Plain TCP on PgRouter's own event loop; TLS (or a TLS attempt) on .NET's socket engine.
            var (transport, error) = tls.IsDisabled && Native.Supported
                ? (await EpollTransport.ConnectAsync(host, port, keepalive.ApplyTo, deadline.Token).ConfigureAwait(false), null)
                : await ConnectThroughDotNetAsync(host, port, keepalive, tls, deadline.Token).ConfigureAwait(false);
            if (transport is null)
            {
                return (null, new ConnectError($"{host}:{port}: {error}", ServerDown: false));
            }
            transport.Start();
            return (new ServerConnection(transport, cluster, member, host, port), null);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
        {
            string why = e switch
            {
                SocketException se => se.SocketErrorCode.ToString(),
                OperationCanceledException => $"no answer within {timeout.TotalSeconds:0.#} s",
                _ => e.Message,
            };
            return (null, new ConnectError($"could not connect to {host}:{port}: {why}", ServerDown: true));
        }
    }

    /// <summary>The transport, or the TLS negotiation's refusal; a failure to connect is thrown.</summary>
    private static async Task<(ITransport? Transport, string? Error)> ConnectThroughDotNetAsync(
        string host, int port, KeepaliveOptions keepalive, ServerTlsConnector tls, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(host, port, cancellationToken).ConfigureAwait(false);
            keepalive.ApplyTo(socket);
            var (stream, error) = await tls.NegotiateAsync(socket, host, cancellationToken).ConfigureAwait(false);
            if (error is not null)
            {
                socket.Dispose();
                return (null, error);
            }
            return (stream is null ? new SocketTransport(socket) : new StreamTransport(stream, socket), null);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public ValueTask DisposeAsync() => Transport.DisposeAsync();
}
