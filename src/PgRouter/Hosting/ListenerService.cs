using System.Net;
using System.Net.Sockets;
using PgRouter.Connections;
using PgRouter.Routing;

namespace PgRouter.Hosting;

/// <summary>Binds every configured listener at start (failing loudly if a port is taken) and accepts clients.</summary>
internal sealed partial class ListenerService(
    IReadOnlyList<(IPEndPoint EndPoint, ListenerPolicy Policy)> listeners,
    ClientSessionHandler handler,
    ActiveSessions sessions,
    ILogger<ListenerService> logger) : BackgroundService
{
    private readonly List<(Socket Socket, ListenerPolicy Policy)> _bound = [];

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var (endPoint, policy) in listeners)
        {
            var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                socket.Bind(endPoint);
                socket.Listen(1024);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                throw new InvalidOperationException($"listener {policy.Name} cannot listen on {endPoint}: {e.Message}", e);
            }
            _bound.Add((socket, policy));
            LogListening(policy.Name, endPoint.ToString(), RouteTargets.Name(policy.Target));
        }
        return base.StartAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_bound.Select(b => AcceptAsync(b.Socket, b.Policy, stoppingToken)));

    /// <summary>No new clients, then every session ends with 57P01 so clients know to reconnect.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var (socket, _) in _bound)
        {
            socket.Dispose();
        }
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await sessions.StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        LogStopped();
    }

    private async Task AcceptAsync(Socket listener, ListenerPolicy policy, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                // Running out of file descriptors must not end the accept loop.
                LogAcceptFailed(policy.Name, e.Message);
                continue;
            }
            _ = handler.HandleAsync(client, policy);
        }
    }

    [LoggerMessage(600, LogLevel.Information, "listener {Listener} on {EndPoint} routes to {Target}")]
    private partial void LogListening(string listener, string endPoint, string target);

    [LoggerMessage(602, LogLevel.Information, "listeners closed and sessions ended")]
    private partial void LogStopped();

    [LoggerMessage(601, LogLevel.Error, "listener {Listener}: accept failed: {Error}")]
    private partial void LogAcceptFailed(string listener, string error);
}
