using System.Buffers.Binary;
using System.Text;

namespace PgRouter.IntegrationTests.Support;

/// <summary>Frontend messages of the extended query protocol, built by hand for scripted sessions.</summary>
internal static class Wire
{
    public static readonly byte[] Sync = Frame('S');

    public static readonly byte[] Flush = Frame('H');

    public static byte[] Query(string sql) => Frame('Q', CString(sql));

    public static byte[] Parse(string name, string sql, params int[] parameterTypes) =>
        Frame('P', CString(name), CString(sql), Int16(parameterTypes.Length), [.. parameterTypes.SelectMany(Int32)]);

    /// <summary>Bind with text parameters and text results.</summary>
    public static byte[] Bind(string statement, params string?[] parameters) =>
        Frame('B', CString(""), CString(statement), Int16(0), Int16(parameters.Length),
            [.. parameters.SelectMany(p => p is null ? Int32(-1) : [.. Int32(Encoding.UTF8.GetByteCount(p)), .. Encoding.UTF8.GetBytes(p)])],
            Int16(0));

    public static byte[] Execute(int maxRows = 0) => Frame('E', CString(""), Int32(maxRows));

    public static byte[] DescribeStatement(string name) => Frame('D', [(byte)'S'], CString(name));

    public static byte[] DescribePortal() => Frame('D', [(byte)'P'], CString(""));

    public static byte[] CloseStatement(string name) => Frame('C', [(byte)'S'], CString(name));

    private static byte[] Frame(char type, params byte[][] body)
    {
        byte[] payload = [.. body.SelectMany(b => b)];
        var frame = new byte[5 + payload.Length];
        frame[0] = (byte)type;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), payload.Length + 4);
        payload.CopyTo(frame, 5);
        return frame;
    }

    private static byte[] CString(string text) => [.. Encoding.UTF8.GetBytes(text), 0];

    private static byte[] Int16(int value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteInt16BigEndian(bytes, (short)value);
        return bytes;
    }

    private static byte[] Int32(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }
}
