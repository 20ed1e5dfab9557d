// Camera or screen share for the model: one JPEG a second, at most 768 px on the long side, as
// `realtimeInput.video` (the Live API samples video at about 1 frame/s anyway, so more only costs bandwidth).

const FRAME_INTERVAL_MS = 1000;
const MAX_SIDE = 768;
const JPEG_QUALITY = 0.7;

/** `kind`: 'camera' | 'screen'. Calls `onFrame(base64Jpeg)`; `onEnded()` when the user stops it elsewhere. */
export async function startVideo(kind, preview, { onFrame, onEnded }) {
  const stream =
    kind === 'screen'
      ? await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 5 }, audio: false })
      : await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, facingMode: 'user' } });
  preview.srcObject = stream;
  await preview.play().catch(() => {});
  const canvas = document.createElement('canvas');
  const [track] = stream.getVideoTracks();
  let stopped = false;
  const capture = async () => {
    const { videoWidth: w, videoHeight: h } = preview;
    if (!w || !h) return;
    const scale = Math.min(1, MAX_SIDE / Math.max(w, h));
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    canvas.getContext('2d').drawImage(preview, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', JPEG_QUALITY));
    if (blob && !stopped) onFrame(await toBase64(blob));
  };
  const timer = setInterval(() => void capture(), FRAME_INTERVAL_MS);
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    for (const t of stream.getTracks()) t.stop();
    preview.srcObject = null;
  };
  track?.addEventListener('ended', () => {
    stop();
    onEnded();
  });
  return { stop };
}

async function toBase64(blob) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
