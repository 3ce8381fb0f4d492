using System.Text;
using PgRouter.Configuration;
using PgRouter.Connections;
using PgRouter.Protocol;

namespace PgRouter.Monitoring;

/// <summary>
/// PgRouter's own connection to one member, kept open between probes. With monitor credentials it
/// asks the server for its recovery state and WAL position; without, it only checks that the port
/// accepts connections.
/// </summary>
internal sealed class MemberProbe(string cluster, string member, MonitorOptions options, KeepaliveOptions keepalive) : IAsyncDisposable
{
    private const string Query =
        "select pg_is_in_recovery(), case when pg_is_in_recovery() then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end";

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
                var (connection, error) = await ServerConnection.ConnectAsync(cluster, member, host, port, options.Timeout, keepalive).ConfigureAwait(false);
                if (connection is null)
                {
                    return ProbeResult.Unreachable(error!);
                }
                if (options.User is null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                    return new ProbeResult(true, null, null, null);
                }
                var login = await ServerLogin.LoginAsync(connection, options.User, options.Password, options.Database, "pgrouter-monitor", deadline.Token).ConfigureAwait(false);
                if (!login.Succeeded)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                    return ProbeResult.Unreachable($"monitor login failed: {login.Error}");
                }
                _connection = connection;
            }
            return await QueryAsync(_connection, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidDataException)
        {
            await CloseAsync().ConfigureAwait(false);
            return ProbeResult.Unreachable(e is OperationCanceledException ? $"no answer within {options.Timeout.TotalSeconds:0.#} s" : e.Message);
        }
    }

    private async Task<ProbeResult> QueryAsync(ServerConnection connection, CancellationToken cancellationToken)
    {
        if (!await connection.Transport.SendAsync(FrontendMessages.Query(Query)).ConfigureAwait(false))
        {
            await CloseAsync().ConfigureAwait(false);
            return ProbeResult.Unreachable("the connection was closed");
        }

        ProbeResult? result = null;
        while (await ServerMessages.ReadAsync(connection.Input, cancellationToken).ConfigureAwait(false) is { } message)
        {
            switch (message.Type)
            {
                case BackendMessage.DataRow:
                    var columns = DataRowText(message.Body);
                    long? position = columns[1] is { } text && Lsn.TryParse(text, out long lsn) ? lsn : null;
                    result = new ProbeResult(true, columns[0] == "t", position, null);
                    break;
                case BackendMessage.ErrorResponse:
                    result = ProbeResult.Unreachable(BackendMessageParser.ErrorResponse(message.Frame).ToString());
                    break;
                case BackendMessage.ReadyForQuery:
                    return result ?? ProbeResult.Unreachable("the probe query returned no row");
            }
        }
        await CloseAsync().ConfigureAwait(false);
        return ProbeResult.Unreachable("the server closed the connection");
    }

    /// <summary>DataRow: Int16 column count, then per column Int32 length (-1 = NULL) and the text.</summary>
    private static string?[] DataRowText(byte[] body)
    {
        int count = System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(body);
        var values = new string?[count];
        int offset = 2;
        for (int i = 0; i < count; i++)
        {
            int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(offset));
            offset += 4;
            if (length >= 0)
            {
                values[i] = Encoding.UTF8.GetString(body, offset, length);
                offset += length;
            }
        }
        return values;
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
