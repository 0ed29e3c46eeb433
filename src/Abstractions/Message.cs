using System.Text;
using System.Text.Json;

namespace OrleansWs;

/// <summary>
/// One complete WebSocket message, text or binary. Immutable: the same instance may be handed to
/// many peers, so its bytes must never be written after construction.
/// </summary>
[GenerateSerializer, Immutable]
public sealed class Message
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Creates a message over <paramref name="data"/>, which the message now owns.</summary>
    /// <param name="data">The payload; not copied, so the caller must not change it afterwards.</param>
    /// <param name="isText">Whether the payload is UTF-8 text (a text frame) or binary.</param>
    public Message(byte[] data, bool isText)
    {
        Data = data ?? throw new ArgumentNullException(nameof(data));
        IsText = isText;
    }

    /// <summary>The payload exactly as it travelled on the socket.</summary>
    [Id(0)] public byte[] Data { get; }

    /// <summary><see langword="true"/> for a text frame, <see langword="false"/> for a binary one.</summary>
    [Id(1)] public bool IsText { get; }

    /// <summary><see langword="true"/> for a binary frame.</summary>
    public bool IsBinary => !IsText;

    /// <summary>The payload as read-only bytes.</summary>
    public ReadOnlyMemory<byte> Bytes => Data;

    /// <summary>
    /// The payload decoded as UTF-8, for binary messages too, as crossws' <c>message.text()</c> (a
    /// <c>TextDecoder</c>): bytes that are not valid UTF-8 become U+FFFD. A text frame is always valid UTF-8
    /// (the gateway closes a peer that sends one that is not with 1007).
    /// </summary>
    public string Text() => Encoding.UTF8.GetString(Data);

    /// <summary>The payload decoded as UTF-8, throwing on bytes that are not valid UTF-8 instead of replacing them.</summary>
    /// <exception cref="DecoderFallbackException">The payload is not valid UTF-8.</exception>
    public string TextStrict() => StrictUtf8.GetString(Data);

    /// <summary>The payload parsed as JSON.</summary>
    /// <exception cref="JsonException">The payload is not JSON of type <typeparamref name="T"/>.</exception>
    public T? Json<T>(JsonSerializerOptions? options = null) => JsonSerializer.Deserialize<T>(Data, options ?? JsonSerializerOptions.Web);

    /// <summary>A text message.</summary>
    public static Message FromText(string text) => new(StrictUtf8.GetBytes(text), isText: true);

    /// <summary>A binary message; <paramref name="data"/> is copied.</summary>
    public static Message FromBytes(ReadOnlySpan<byte> data) => new(data.ToArray(), isText: false);

    /// <summary>A text message holding <paramref name="value"/> serialized as JSON (web defaults: camelCase).</summary>
    public static Message FromJson<T>(T value, JsonSerializerOptions? options = null) =>
        new(JsonSerializer.SerializeToUtf8Bytes(value, options ?? JsonSerializerOptions.Web), isText: true);

    /// <inheritdoc />
    public override string ToString() => IsText ? Text() : $"<{Data.Length} bytes>";
}
