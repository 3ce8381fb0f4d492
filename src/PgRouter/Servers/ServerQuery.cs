using System.Buffers.Binary;
using System.Text;
using PgRouter.Protocol;

namespace PgRouter.Servers;

/// <summary>The rows of a query PgRouter ran itself (probes, auth query), as text, or the server's error.</summary>
internal sealed record QueryResult(IReadOnlyList<string?[]> Rows, PgError? Error);

/// <summary>Runs one query on a logged-in server connection, parameters passed as text (extended protocol).</summary>
internal static class ServerQuery
{
    /// <summary>Null when the connection broke; it must not be used again then.</summary>
    public static async Task<QueryResult?> RunAsync(ServerConnection server, string sql, IReadOnlyList<string?> parameters, CancellationToken cancellationToken)
    {
        if (!await server.Transport.SendAsync(FrontendMessages.ExtendedQuery(sql, parameters)).ConfigureAwait(false))
        {
            return null;
        }
        var rows = new List<string?[]>();
        PgError? error = null;
        while (await ServerMessages.ReadAsync(server.Input, cancellationToken).ConfigureAwait(false) is { } message)
        {
            switch (message.Type)
            {
                case BackendMessage.DataRow:
                    rows.Add(DataRowText(message.Body));
                    break;
                case BackendMessage.ErrorResponse:
                    error = BackendMessageParser.ErrorResponse(message.Frame);
                    break;
                case BackendMessage.ReadyForQuery:
                    return new QueryResult(rows, error);
            }
        }
        return null;
    }

    /// <summary>DataRow: Int16 column count, then per column Int32 length (-1 = NULL) and the text.</summary>
    private static string?[] DataRowText(byte[] body)
    {
        int count = BinaryPrimitives.ReadInt16BigEndian(body);
        var values = new string?[count];
        int offset = 2;
        for (int i = 0; i < count; i++)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(offset));
            offset += 4;
            if (length >= 0)
            {
                values[i] = Encoding.UTF8.GetString(body, offset, length);
                offset += length;
            }
        }
        return values;
    }
}
