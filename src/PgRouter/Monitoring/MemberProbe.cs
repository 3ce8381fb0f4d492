using PgRouter.Configuration;
using PgRouter.Protocol;
using PgRouter.Servers;
using PgRouter.Tls;

namespace PgRouter.Monitoring;

/// <summary>
/// PgRouter's own connection to one member, kept open between probes. With monitor credentials it
/// asks the server for its recovery state and WAL position; without, it only checks that the port
/// accepts connections.
/// </summary>
internal sealed class MemberProbe(string cluster, string member, MonitorOptions options, KeepaliveOptions keepalive, ServerTlsConnector tls) : IAsyncDisposable
{
    private const string Query =
        "select pg_is_in_recovery(), case when pg_is_in_recovery() then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end";

    private readonly StartupParameters _loginParameters = LoginParameters(options);
    private ServerConnection? _connection;
    private string _address = "";

    public async Task<ProbeResult> ProbeAsync(string host, int port)
    {
        string address = $"{host}:{port}";
        if (_address != address)
        {
            await CloseAsync().ConfigureAwait(false);
            _address = address;
        }

        using var deadline = new CancellationTokenSource(options.Timeout);
        try
        {
            if (_connection is null)
            {
                var (connection, error) = await ServerConnection.ConnectAsync(cluster, member, host, port, options.Timeout, keepalive, tls).ConfigureAwait(false);
                if (connection is null)
                {
                    return ProbeResult.Unreachable(error!.Message, error.ServerDown);
                }
                if (options.User is null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                    return new ProbeResult(true, null, null, null);
                }
                var login = await ServerLogin.LoginAsync(connection, _loginParameters, new ServerCredentials(options.User, options.Password), deadline.Token).ConfigureAwait(false);
                if (!login.Succeeded)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                    return ProbeResult.Unreachable($"monitor login failed: {login.Error}", ConnectError.MeansServerDown(login.Error!.SqlState));
                }
                _connection = connection;
            }

            switch (await ServerQuery.RunAsync(_connection, Query, [], deadline.Token).ConfigureAwait(false))
            {
                case null:
                    await CloseAsync().ConfigureAwait(false);
                    return ProbeResult.Unreachable("the connection was closed", serverDown: true);
                case { Error: { } error }:
                    return ProbeResult.Unreachable(error.ToString(), ConnectError.MeansServerDown(error.SqlState));
                case { Rows: [var row, ..] }:
                    long? position = row[1] is { } text && Lsn.TryParse(text, out long lsn) ? lsn : null;
                    return new ProbeResult(true, row[0] == "t", position, null);
                default:
                    return ProbeResult.Unreachable("the probe query returned no row", serverDown: false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidDataException)
        {
            await CloseAsync().ConfigureAwait(false);
            return e is OperationCanceledException
                ? ProbeResult.Unreachable($"no answer within {options.Timeout.TotalSeconds:0.#} s", serverDown: true)
                : ProbeResult.Unreachable(e.Message, serverDown: false);
        }
    }

    private static StartupParameters LoginParameters(MonitorOptions options)
    {
        var parameters = new StartupParameters();
        parameters.Set("user", options.User);
        parameters.Set("database", options.Database);
        parameters.Set("application_name", "pgrouter-monitor");
        return parameters;
    }

    public ValueTask DisposeAsync() => CloseAsync();

    private async ValueTask CloseAsync()
    {
        if (_connection is { } connection)
        {
            _connection = null;
            await connection.Transport.SendAsync(FrontendMessages.Terminate).ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
