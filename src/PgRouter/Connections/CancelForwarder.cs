using System.Net.Sockets;
using PgRouter.Configuration;
using PgRouter.Protocol;

namespace PgRouter.Connections;

/// <summary>
/// Turns a client's CancelRequest into one for the server its query runs on, over a new connection;
/// a key another PgRouter instance handed out (Peering) goes to that instance as it is.
/// </summary>
internal sealed partial class CancelForwarder(CancelRegistry registry, PeeringOptions peering, TimeSpan connectTimeout, ILogger<CancelForwarder> logger)
{
    private readonly Dictionary<int, string> _peers = peering.Peers.ToDictionary(p => int.Parse(p.Key), p => p.Value);

    public async Task ForwardAsync(CancelKey key, string from)
    {
        if (peering.Id > 0 && CancelKeys.PeerOf(key.ProcessId) is var peer && peer != peering.Id)
        {
            await ForwardToPeerAsync(peer, key, from).ConfigureAwait(false);
            return;
        }

        var entry = registry.Find(key);
        if (entry?.Server is not { } server)
        {
            LogIgnored(from, key.ProcessId, entry is null ? "no client has this key" : "the client has no server now");
            return;
        }
        if (await SendAsync(server.Host, server.Port, server.Key).ConfigureAwait(false) is { } error)
        {
            LogFailed(from, entry.ClientAddress, server.Cluster, server.Member, error);
            return;
        }
        LogForwarded(from, entry.ClientAddress, server.Cluster, server.Member);
    }

    private async Task ForwardToPeerAsync(int peer, CancelKey key, string from)
    {
        if (!_peers.TryGetValue(peer, out var address) || !HostPort.TryParse(address, out string host, out int port))
        {
            LogIgnored(from, key.ProcessId, $"the key belongs to PgRouter peer {peer}, which is not in Peering:Peers");
            return;
        }
        if (await SendAsync(host, port, key).ConfigureAwait(false) is { } error)
        {
            LogPeerFailed(from, peer, address, error);
            return;
        }
        LogPassedToPeer(from, peer, address);
    }

    /// <summary>Sends the CancelRequest on a connection of its own; the error, if it could not.</summary>
    private async Task<string?> SendAsync(string host, int port, CancelKey key)
    {
        try
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var deadline = new CancellationTokenSource(connectTimeout);
            await socket.ConnectAsync(host, port, deadline.Token).ConfigureAwait(false);
            await socket.SendAsync(FrontendMessages.CancelRequest(key), SocketFlags.None, deadline.Token).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
            // Nothing comes back; wait for the close so the request is read before we go.
            await socket.ReceiveAsync(new byte[1], SocketFlags.None, deadline.Token).ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return e.Message;
        }
    }

    [LoggerMessage(200, LogLevel.Information, "cancel request from {From} for client {Client} forwarded to cluster {Cluster} member {Member}")]
    private partial void LogForwarded(string from, string client, string cluster, string member);

    [LoggerMessage(201, LogLevel.Information, "cancel request from {From} for process id {ProcessId} ignored: {Reason}")]
    private partial void LogIgnored(string from, int processId, string reason);

    [LoggerMessage(202, LogLevel.Warning, "cancel request from {From} for client {Client} could not reach cluster {Cluster} member {Member}: {Error}")]
    private partial void LogFailed(string from, string client, string cluster, string member, string error);

    [LoggerMessage(203, LogLevel.Information, "cancel request from {From} passed to PgRouter peer {Peer} at {Address}")]
    private partial void LogPassedToPeer(string from, int peer, string address);

    [LoggerMessage(204, LogLevel.Warning, "cancel request from {From} could not reach PgRouter peer {Peer} at {Address}: {Error}")]
    private partial void LogPeerFailed(string from, int peer, string address, string error);
}
