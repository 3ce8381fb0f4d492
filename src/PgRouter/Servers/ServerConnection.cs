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
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            using var deadline = new CancellationTokenSource(timeout);
            ITransport transport;
            if (tls.IsDisabled && Native.Supported)
            {
                socket.Dispose();
                transport = await EpollTransport.ConnectAsync(host, port, keepalive.ApplyTo, deadline.Token).ConfigureAwait(false);
            }
            else
            {
                await socket.ConnectAsync(host, port, deadline.Token).ConfigureAwait(false);
                keepalive.ApplyTo(socket);
                var (stream, error) = await tls.NegotiateAsync(socket, host, deadline.Token).ConfigureAwait(false);
                if (error is not null)
                {
                    socket.Dispose();
                    return (null, new ConnectError($"{host}:{port}: {error}", ServerDown: false));
                }
                transport = stream is null ? new SocketTransport(socket) : new StreamTransport(stream, socket);
            }
            transport.Start();
            return (new ServerConnection(transport, cluster, member, host, port), null);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
        {
            socket.Dispose();
            string why = e switch
            {
                SocketException se => se.SocketErrorCode.ToString(),
                OperationCanceledException => $"no answer within {timeout.TotalSeconds:0.#} s",
                _ => e.Message,
            };
            return (null, new ConnectError($"could not connect to {host}:{port}: {why}", ServerDown: true));
        }
    }

    public ValueTask DisposeAsync() => Transport.DisposeAsync();
}
