// Node-only parts of @sibert/models: checkpoints and HuggingFace folders as files on disk.

export { loadSafetensors, readCheckpoint, saveModel, saveSafetensors, writeFileAtomic } from './files.js';
export {
  type HuggingFaceFolder,
  isHuggingFaceFolder,
  readHuggingFace,
  saveHuggingFace,
} from './huggingface-folder.js';
