using System.IO.Pipelines;
using System.Net.Sockets;
using PgRouter.Configuration;

namespace PgRouter.Connections;

/// <summary>The server side of a session: a socket to one member of one cluster, and what it told us at login.</summary>
internal sealed class ServerConnection : IAsyncDisposable
{
    private ServerConnection(SocketTransport transport, string cluster, string member, string host, int port)
    {
        Transport = transport;
        Cluster = cluster;
        Member = member;
        Host = host;
        Port = port;
    }

    public SocketTransport Transport { get; }

    public PipeReader Input => Transport.Input;

    public string Cluster { get; }

    public string Member { get; }

    public string Host { get; }

    public int Port { get; }

    public string Address => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    /// <summary>Opens a TCP connection; the error says what went wrong for logs and for the client.</summary>
    public static async Task<(ServerConnection? Connection, string? Error)> ConnectAsync(
        string cluster, string member, string host, int port, TimeSpan timeout, KeepaliveOptions keepalive)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            using var deadline = new CancellationTokenSource(timeout);
            await socket.ConnectAsync(host, port, deadline.Token).ConfigureAwait(false);
            keepalive.ApplyTo(socket);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            string why = e is SocketException se ? se.SocketErrorCode.ToString() : $"no answer within {timeout.TotalSeconds:0.#} s";
            return (null, $"could not connect to {host}:{port}: {why}");
        }

        var transport = new SocketTransport(socket);
        transport.Start();
        return (new ServerConnection(transport, cluster, member, host, port), null);
    }

    public ValueTask DisposeAsync() => Transport.DisposeAsync();
}
